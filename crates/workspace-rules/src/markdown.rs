//! Generated or machine-read sections of Markdown documents, delimited by
//! `<!-- NAME:begin -->` and `<!-- NAME:end -->` comment lines.

/// The text between the markers of section `name` (without the marker lines).
pub fn section<'a>(doc: &'a str, name: &str) -> Result<&'a str, String> {
    let (start, end) = bounds(doc, name)?;
    Ok(&doc[start..end])
}

/// `doc` with the text between the markers of section `name` replaced by `content`.
pub fn replace_section(doc: &str, name: &str, content: &str) -> Result<String, String> {
    let (start, end) = bounds(doc, name)?;
    let mut out = String::with_capacity(doc.len() + content.len());
    out.push_str(&doc[..start]);
    out.push_str(content);
    if !content.is_empty() && !content.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&doc[end..]);
    Ok(out)
}

/// Byte range of the section's content: after the begin line, up to the end marker.
fn bounds(doc: &str, name: &str) -> Result<(usize, usize), String> {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let begin_at = doc
        .find(&begin)
        .ok_or_else(|| format!("no `{begin}` marker"))?;
    let content_start = doc[begin_at..]
        .find('\n')
        .map(|offset| begin_at + offset + 1)
        .ok_or_else(|| format!("nothing after `{begin}`"))?;
    let end_at = doc[content_start..]
        .find(&end)
        .map(|offset| content_start + offset)
        .ok_or_else(|| format!("no `{end}` marker after `{begin}`"))?;
    if doc[end_at + end.len()..].contains(&begin) {
        return Err(format!("`{begin}` appears twice"));
    }
    Ok((content_start, end_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "intro\n<!-- t:begin -->\nold\n<!-- t:end -->\nrest\n";

    #[test]
    fn a_section_is_read_and_replaced_between_its_markers() {
        assert_eq!(section(DOC, "t").unwrap(), "old\n");
        assert_eq!(
            replace_section(DOC, "t", "new").unwrap(),
            "intro\n<!-- t:begin -->\nnew\n<!-- t:end -->\nrest\n"
        );
    }

    #[test]
    fn missing_or_doubled_markers_are_errors() {
        assert!(section("no markers", "t").is_err());
        assert!(section("<!-- t:begin -->\nx\n", "t").is_err());
        assert!(section(&format!("{DOC}{DOC}"), "t").is_err());
    }
}
