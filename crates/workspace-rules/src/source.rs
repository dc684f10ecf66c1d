//! Just enough Rust lexing for the source scans: blank out comments and test-only items
//! (keeping line numbers), and split a call's arguments.

/// A source file with its comments and `#[cfg(test)]` items blanked (replaced by spaces,
/// newlines kept), and the names of the test-only modules it declares in other files
/// (`#[cfg(test)] mod tests;`).
#[derive(Debug)]
pub(crate) struct Sanitized {
    pub(crate) text: String,
    pub(crate) test_module_files: Vec<String>,
}

pub(crate) fn sanitize(text: &str) -> Sanitized {
    let mut chars: Vec<char> = text.chars().collect();
    blank_comments(&mut chars);
    let mut test_module_files = Vec::new();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut from = 0;
    while let Some(start) = find(&chars, &marker, from) {
        let mut at = start + marker.len();
        // further attributes of the same item
        loop {
            at = skip_whitespace(&chars, at);
            if chars.get(at) == Some(&'#') && chars.get(at + 1) == Some(&'[') {
                at = matching_close(&chars, at + 1).map_or(chars.len(), |close| close + 1);
            } else {
                break;
            }
        }
        let item_end = item_end(&chars, at);
        if let Some(name) = out_of_line_module(&chars[at..item_end]) {
            test_module_files.push(name);
        }
        blank(&mut chars, start, item_end);
        from = item_end;
    }
    Sanitized {
        text: chars.into_iter().collect(),
        test_module_files,
    }
}

/// The arguments of the call whose `(` is at byte `open` of `text`, as trimmed strings, and
/// the byte just after the closing `)`. `None` when the parentheses do not close.
pub(crate) fn call_arguments(text: &str, open: usize) -> Option<(Vec<String>, usize)> {
    let chars: Vec<(usize, char)> = text[open..].char_indices().collect();
    let plain: Vec<char> = chars.iter().map(|(_, c)| *c).collect();
    let mut depth = 0usize;
    let mut arguments = Vec::new();
    let mut current = String::new();
    let mut index = 0;
    while index < chars.len() {
        let (offset, c) = chars[index];
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > 1 {
                    current.push(c);
                }
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let last = current.trim();
                    if !last.is_empty() {
                        arguments.push(last.to_owned());
                    }
                    return Some((arguments, open + offset + c.len_utf8()));
                }
                current.push(c);
            }
            ',' if depth == 1 => {
                arguments.push(current.trim().to_owned());
                current.clear();
            }
            '"' | '\'' | 'r' => {
                let end = literal_end(&plain, index).unwrap_or(index + 1);
                current.extend(&plain[index..end]);
                index = end;
                continue;
            }
            _ => current.push(c),
        }
        index += 1;
    }
    None
}

/// The contents of a plain string literal (`"..."`), when `argument` is one.
pub(crate) fn string_literal(argument: &str) -> Option<&str> {
    let inner = argument.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then_some(inner)
}

fn blank_comments(chars: &mut [char]) {
    let mut index = 0;
    while index < chars.len() {
        if let Some(end) = literal_end(chars, index) {
            index = end;
        } else if chars[index] == '/' && chars.get(index + 1) == Some(&'/') {
            let end = (index..chars.len())
                .find(|&at| chars[at] == '\n')
                .unwrap_or(chars.len());
            blank(chars, index, end);
            index = end;
        } else if chars[index] == '/' && chars.get(index + 1) == Some(&'*') {
            let mut depth = 0usize;
            let mut at = index;
            while at < chars.len() {
                if chars[at] == '/' && chars.get(at + 1) == Some(&'*') {
                    depth += 1;
                    at += 2;
                } else if chars[at] == '*' && chars.get(at + 1) == Some(&'/') {
                    depth -= 1;
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    at += 1;
                }
            }
            blank(chars, index, at.min(chars.len()));
            index = at;
        } else {
            index += 1;
        }
    }
}

/// When a string, raw string or character literal starts at `index`, the index after it.
/// (A lifetime such as `'a` is not a literal.)
fn literal_end(chars: &[char], index: usize) -> Option<usize> {
    let previous_is_ident = index > 0 && is_ident(chars[index - 1]);
    match chars[index] {
        '"' => {
            let mut at = index + 1;
            while at < chars.len() {
                match chars[at] {
                    '\\' => at += 2,
                    '"' => return Some(at + 1),
                    _ => at += 1,
                }
            }
            Some(chars.len())
        }
        'r' if !previous_is_ident || (index > 0 && chars[index - 1] == 'b') => {
            let hashes = chars[index + 1..].iter().take_while(|&&c| c == '#').count();
            if chars.get(index + 1 + hashes) != Some(&'"') {
                return None;
            }
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let body = index + 2 + hashes;
            Some(find(chars, &closing, body).map_or(chars.len(), |at| at + closing.len()))
        }
        '\'' => {
            if chars.get(index + 1) == Some(&'\\') {
                let close = (index + 3..chars.len()).find(|&at| chars[at] == '\'')?;
                Some(close + 1)
            } else if chars.get(index + 2) == Some(&'\'') {
                Some(index + 3)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The end (exclusive) of the item starting at `at`: through its `;` or its `{ ... }`.
fn item_end(chars: &[char], at: usize) -> usize {
    let mut index = at;
    while index < chars.len() {
        if let Some(end) = literal_end(chars, index) {
            index = end;
            continue;
        }
        match chars[index] {
            ';' => return index + 1,
            '{' => return matching_close(chars, index).map_or(chars.len(), |close| close + 1),
            '(' | '[' => {
                index = matching_close(chars, index).map_or(chars.len(), |close| close + 1);
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    chars.len()
}

/// The index of the bracket closing the one at `open`.
fn matching_close(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut index = open;
    while index < chars.len() {
        if let Some(end) = literal_end(chars, index) {
            index = end;
            continue;
        }
        match chars[index] {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
        index += 1;
    }
    None
}

/// `mod name;` (possibly `pub mod`): the module's name.
fn out_of_line_module(item: &[char]) -> Option<String> {
    let text: String = item.iter().collect();
    let words: Vec<&str> = text
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    match words.as_slice() {
        [.., "mod", name] if text.trim().ends_with(';') => Some((*name).to_owned()),
        _ => None,
    }
}

fn blank(chars: &mut [char], from: usize, to: usize) {
    let to = to.min(chars.len());
    for c in &mut chars[from..to] {
        if *c != '\n' {
            *c = ' ';
        }
    }
}

fn skip_whitespace(chars: &[char], mut at: usize) -> usize {
    while chars.get(at).is_some_and(|c| c.is_whitespace()) {
        at += 1;
    }
    at
}

fn find(chars: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() || chars.len() < needle.len() {
        return None;
    }
    (from..=chars.len() - needle.len()).find(|&at| chars[at..at + needle.len()] == *needle)
}

pub(crate) fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_blanked_but_strings_that_look_like_comments_are_kept() {
        let source = "let a = \"http://x\"; // \"gone\"\n/* \"gone\" /* nested */ */ let b = r#\"//\"#;\nlet c = '\"'; let d: &'static str = \"kept\";";
        let text = sanitize(source).text;
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains("\"http://x\""));
        assert!(!text.contains("gone"));
        assert!(text.contains("r#\"//\"#"));
        assert!(text.contains("\"kept\""));
    }

    #[test]
    fn test_items_are_blanked_and_out_of_line_test_modules_named() {
        let source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() { let s = \"}\"; }\n}\nfn c() {}\n#[cfg(test)]\n#[path = \"x.rs\"]\nmod more;\n#[cfg(test)] use x::y;\nfn d() {}\n";
        let sanitized = sanitize(source);
        assert_eq!(sanitized.text.lines().count(), source.lines().count());
        assert!(sanitized.text.contains("fn a() {}"));
        assert!(sanitized.text.contains("fn c() {}"));
        assert!(sanitized.text.contains("fn d() {}"));
        assert!(!sanitized.text.contains("fn b"));
        assert!(!sanitized.text.contains("more"));
        assert!(!sanitized.text.contains("use x"));
        assert_eq!(sanitized.test_module_files, ["more"]);
    }

    #[test]
    fn call_arguments_split_at_top_level_commas_only() {
        let text = "Error::new(ErrorKind::X, \"a,)\", format!(\"{a}, {b}\", a = f(1, 2)),)";
        let open = text.find('(').unwrap();
        let (arguments, end) = call_arguments(text, open).unwrap();
        assert_eq!(
            arguments,
            [
                "ErrorKind::X",
                "\"a,)\"",
                "format!(\"{a}, {b}\", a = f(1, 2))"
            ]
        );
        assert_eq!(end, text.len());
        assert_eq!(string_literal("\"a_b\""), Some("a_b"));
        assert_eq!(string_literal("format!(\"a\")"), None);
        assert!(call_arguments("f(a, (b", 1).is_none());
    }
}
