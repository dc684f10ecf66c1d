//! Reading the position out of regorus's error text.
//!
//! regorus reports a located error as
//!
//! ```text
//!
//! --> file.rego:3:11
//!   |
//! 3 | deny contains msg if input.x ==
//!   |           ^
//! error: unexpected end of line
//! ```
//!
//! (possibly after context lines). [`located`] finds the last `--> ` line whose location
//! ends in `:<line>:<column>`, and the message after the caret line.

/// A position and message read from a regorus error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// The file named in the error, if the error has a location.
    pub file: Option<String>,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Read the file, line, column and message out of a regorus error.
pub(crate) fn located(error: &anyhow::Error) -> Located {
    located_text(&format!("{error:#}"))
}

pub(crate) fn located_text(text: &str) -> Located {
    let lines: Vec<&str> = text.lines().collect();
    let position = lines.iter().enumerate().rev().find_map(|(index, line)| {
        let location = line.trim_start().strip_prefix("--> ")?;
        let (rest, column) = location.trim_end().rsplit_once(':')?;
        let (file, line_number) = rest.rsplit_once(':')?;
        let line_number = line_number.parse::<u32>().ok()?;
        let column = column.parse::<u32>().ok()?;
        Some((index, file.to_string(), line_number, column))
    });
    match position {
        Some((index, file, line, column)) => {
            // The message follows the source excerpt: the first line after the location
            // that is not part of the `N | text` / `  |   ^` excerpt.
            let message = lines
                .iter()
                .skip(index + 1)
                .skip_while(|l| is_excerpt_line(l))
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join(" ");
            let message = message
                .strip_prefix("error: ")
                .unwrap_or(&message)
                .to_string();
            // Context lines before the first location (e.g. "while loading x:") keep their
            // words; nested errors ("Compilation error:" around the real one) do not.
            let first = lines
                .iter()
                .position(|l| l.trim_start().starts_with("--> "))
                .unwrap_or(index);
            let before = lines[..first]
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let before = before.trim_end_matches(':').trim();
            let message = if before.is_empty() {
                message
            } else {
                format!("{before}: {message}")
            };
            Located {
                file: Some(file),
                line,
                column,
                message,
            }
        }
        None => Located {
            file: None,
            line: 0,
            column: 0,
            message: text.trim().to_string(),
        },
    }
}

/// `   |`, `12 | source text` or `   |     ^` lines of a regorus excerpt.
fn is_excerpt_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    let after_number = trimmed.trim_start_matches(|c: char| c.is_ascii_digit());
    after_number.trim_start().starts_with('|')
}

/// The 1-based character column (a tab counts as one, as in an editor) of regorus's
/// column `col` on `line` of `source`: regorus counts a tab as 4 columns and a multi-byte
/// character as its bytes.
pub(crate) fn char_column(source: &str, line: u32, col: u32) -> u32 {
    if line == 0 || col == 0 {
        return col;
    }
    let Some(text) = source.lines().nth((line - 1) as usize) else {
        return col;
    };
    let mut regorus_col: u32 = 1;
    let mut column: u32 = 1;
    for c in text.chars() {
        if regorus_col >= col {
            break;
        }
        let width = if c == '\t' { 4 } else { c.len_utf8() as u32 };
        regorus_col = regorus_col.saturating_add(width);
        column += 1;
    }
    column
}
