//! Progress on stderr for long work, drawn the same way by every command: a bar when the
//! length is known, else a spinner. indicatif draws nothing when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps (`0`: a spinner counting them), or a hidden one when not `enabled`.
pub fn bar(enabled: bool, len: u64, message: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let (bar, template) = if len == 0 {
        let spinner = ProgressBar::new_spinner();
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        (spinner, "{spinner} {msg}: {human_pos} ({per_sec})")
    } else {
        (ProgressBar::new(len), "{msg} [{bar:30}] {pos}/{len} ({per_sec})")
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}
