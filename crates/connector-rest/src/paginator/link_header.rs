//! The RFC 8288 `Link` header with `rel="next"` (GitHub style pagination).

use reqwest::Url;
use reqwest::header::{HeaderMap, LINK};

use super::PageToken;

/// The `rel="next"` target of the `Link` headers, resolved against `current`.
pub(crate) fn next(headers: &HeaderMap, current: &Url) -> Result<Option<PageToken>, String> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for (target, rels) in parse_links(value) {
            if rels.iter().any(|rel| rel.eq_ignore_ascii_case("next")) {
                return current
                    .join(&target)
                    .map(|url| Some(PageToken::Url(url)))
                    .map_err(|e| {
                        format!("the Link header's next URL `{target}` is not valid: {e}")
                    });
            }
        }
    }
    Ok(None)
}

/// Parses `<url>; rel="next last", <url2>; rel=prev` into targets and their relation types.
fn parse_links(header: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let target = after[..close].trim().to_owned();
        let params_and_more = &after[close + 1..];
        // The parameters run until the next link, i.e. a comma outside quotes.
        let mut in_quotes = false;
        let mut end = params_and_more.len();
        for (index, c) in params_and_more.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    end = index;
                    break;
                }
                _ => {}
            }
        }
        let mut rels = Vec::new();
        for param in params_and_more[..end].split(';') {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("rel")
            {
                rels.extend(
                    value
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .map(str::to_owned),
                );
            }
        }
        links.push((target, rels));
        rest = &params_and_more[end..];
    }
    links
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_next_among_several_links() {
        let cases = [
            (
                r#"<https://a.test/x?page=2>; rel="next", <https://a.test/x?page=9>; rel="last""#,
                Some("https://a.test/x?page=2"),
            ),
            (
                r#"<https://a.test/x?page=1>; rel="prev", </x?page=3&a=1,2>; rel="next last""#,
                Some("https://a.test/x?page=3&a=1,2"),
            ),
            (r#"<https://a.test/x?page=1>; rel=prev"#, None),
            ("", None),
        ];
        let current = Url::parse("https://a.test/x?page=2").unwrap();
        for (header, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(LINK, header.parse().unwrap());
            let got = next(&headers, &current).unwrap().map(|t| match t {
                PageToken::Url(u) => u.to_string(),
                other => format!("{other:?}"),
            });
            assert_eq!(got.as_deref(), expected, "{header}");
        }
    }
}
