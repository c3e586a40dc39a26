//! `/proc/<pid>/stat` of a running process, for the box's own bookkeeping: when a box started
//! ([`super::instance`]) and what an unconfined worker uses ([`super::unconfined`]).

/// The fields after the command name (which is in parentheses and may contain spaces), from
/// the state on (`fields[0]`); `None` when the process does not run: gone, or a zombie its
/// parent has not reaped yet.
pub(super) fn fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<String> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    match fields.first().map(String::as_str) {
        Some("Z" | "X") | None => None,
        Some(_) => Some(fields),
    }
}
