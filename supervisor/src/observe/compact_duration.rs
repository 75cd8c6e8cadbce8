use std::fmt;
use std::time::Duration;

/// Shows a duration the way a log line wants it: `850ms`, `1.25s`, `2m05s`.
///
/// ```
/// use std::time::Duration;
/// use supervisor::CompactDuration;
///
/// assert_eq!(CompactDuration(Duration::from_micros(724_846)).to_string(), "725ms");
/// assert_eq!(CompactDuration(Duration::from_millis(1_250)).to_string(), "1.25s");
/// assert_eq!(CompactDuration(Duration::from_secs(125)).to_string(), "2m05s");
/// assert_eq!(CompactDuration(Duration::from_micros(300)).to_string(), "0.3ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactDuration(pub Duration);

impl fmt::Display for CompactDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d < Duration::from_millis(1) {
            write!(f, "{}ms", (d.as_secs_f64() * 1e4).round() / 10.0)
        } else if d < Duration::from_secs(1) {
            write!(f, "{}ms", (d.as_secs_f64() * 1e3).round())
        } else if d < Duration::from_secs(60) {
            write!(f, "{:.2}s", d.as_secs_f64())
        } else {
            let secs = d.as_secs();
            write!(f, "{}m{:02}s", secs / 60, secs % 60)
        }
    }
}
