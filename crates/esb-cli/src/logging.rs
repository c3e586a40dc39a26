//! Tracing to stderr: `-v` debug, `-vv` trace; otherwise `RUST_LOG`, then `LOG_LEVEL`, then
//! `warn`.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, color: bool) {
    let filter = match verbose {
        0 => ["RUST_LOG", "LOG_LEVEL"]
            .iter()
            .find_map(|var| {
                let value = std::env::var(var).ok()?;
                EnvFilter::try_new(value.to_lowercase()).ok()
            })
            .unwrap_or_else(|| EnvFilter::new("warn")),
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .try_init();
}
