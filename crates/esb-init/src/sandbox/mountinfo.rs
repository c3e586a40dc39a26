//! Read-only remounts of a recursive bind: a `MS_REMOUNT | MS_RDONLY` changes only the mount it
//! names, so every mount under the bind's target (a submount of the host source, carried over
//! by `MS_REC`) is found in `/proc/self/mountinfo` and remounted too.

use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};

use crate::errno_of;

/// One line of `/proc/self/mountinfo`, as far as a read-only remount needs it.
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    point: PathBuf,
    /// Kept on remount: a bind remount that does not repeat `noexec` clears it.
    noexec: bool,
}

/// Makes the mount on `target` and every mount under it read-only, nosuid and nodev.
pub(super) fn remount_read_only(target: &Path) -> Result<(), Errno> {
    let table = fs::read_to_string("/proc/self/mountinfo").map_err(|e| errno_of(&e))?;
    for mount_entry in parse(&table) {
        if !mount_entry.point.starts_with(target) {
            continue;
        }
        let mut flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV;
        if mount_entry.noexec {
            flags |= MsFlags::MS_NOEXEC;
        }
        mount(
            None::<&str>,
            &mount_entry.point,
            None::<&str>,
            flags,
            None::<&str>,
        )?;
    }
    Ok(())
}

/// Parses the mount table; lines it does not understand are skipped (the kernel writes it).
fn parse(table: &str) -> Vec<Mount> {
    table
        .lines()
        .filter_map(|line| {
            // id parent major:minor root mount-point options …
            let mut fields = line.split(' ').skip(4);
            let point = fields.next()?;
            let options = fields.next()?;
            Some(Mount {
                point: PathBuf::from(std::ffi::OsString::from_vec(unescape(point))),
                noexec: options.split(',').any(|o| o == "noexec"),
            })
        })
        .collect()
}

/// Undoes the kernel's octal escapes (`\040` for a space, `\134` for a backslash, …).
fn unescape(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|digits| bytes[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match octal {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |value, d| value * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_and_noexec() {
        let table = "\
22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:40 / /mnt/with\\040space\\134x ro,relatime shared:1 - tmpfs t rw
";
        assert_eq!(
            parse(table),
            vec![
                Mount {
                    point: "/proc".into(),
                    noexec: true
                },
                Mount {
                    point: "/".into(),
                    noexec: false
                },
                Mount {
                    point: "/mnt/with space\\x".into(),
                    noexec: false
                },
            ]
        );
    }

    #[test]
    fn keeps_a_backslash_that_is_no_escape() {
        assert_eq!(unescape("a\\b\\04"), b"a\\b\\04".to_vec());
    }
}
