//! Coloured terminal output: styles applied only when colour is on (`--color`, `NO_COLOR`,
//! whether stderr is a terminal), decided once in `main`.

use std::fmt::Display;
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

static COLOR: OnceLock<bool> = OnceLock::new();

pub fn init(color: bool) {
    let _ = COLOR.set(color);
}

fn paint(style: Style, text: impl Display) -> String {
    if COLOR.get().copied().unwrap_or(false) {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

pub fn good(text: impl Display) -> String {
    paint(AnsiColor::Green.on_default().bold(), text)
}

pub fn dim(text: impl Display) -> String {
    paint(Style::new().dimmed(), text)
}

pub fn warn(text: impl Display) -> String {
    paint(AnsiColor::Yellow.on_default().bold(), text)
}

pub fn bad(text: impl Display) -> String {
    paint(AnsiColor::Red.on_default().bold(), text)
}

pub fn heading(text: impl Display) -> String {
    paint(Style::new().bold(), text)
}
