//! Hiding passwords written inside URLs before the URLs are shown (settings, stored
//! configurations).

/// `scheme://user:password@host/...` → `scheme://user:***@host/...`; other text unchanged.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let redacted_query = redact_query_password(tail);
    let Some((credentials, host)) = authority.rsplit_once('@') else {
        return format!("{scheme}://{authority}{redacted_query}");
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{redacted_query}"),
        None => format!("{scheme}://{credentials}@{host}{redacted_query}"),
    }
}

/// `?password=x` query parameters (accepted by PostgreSQL URLs) → `?password=***`.
fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_url_password;

    #[test]
    fn passwords_in_urls_are_redacted() {
        let cases = [
            (
                "postgres://grimos:s3cret@db:5432/app",
                "postgres://grimos:***@db:5432/app",
            ),
            ("postgres://grimos@db/app", "postgres://grimos@db/app"),
            (
                "postgres://db/app?user=a&password=s3cret",
                "postgres://db/app?user=a&password=***",
            ),
            ("postgres://u:p@ss@db/app", "postgres://u:***@db/app"),
            ("sqlite://./data/grimos.db", "sqlite://./data/grimos.db"),
            ("not a url", "not a url"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_url_password(input), expected, "{input}");
        }
    }
}
