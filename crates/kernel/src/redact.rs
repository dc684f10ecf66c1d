//! Hiding passwords written inside URLs before the URLs are shown (settings, stored
//! configurations), and secret-looking values inside free text before it is logged.

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

/// Words after which a value is taken for a secret (`password=…`, `"api_key": "…"`).
const SECRET_KEYS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "private_key",
];

/// Mask secret-looking values in free text (a decision's reasons, a policy message) before
/// it is logged: grimOS API tokens (`grm_…`), JSON Web Tokens (`eyJ….….…`), and the value
/// after a secret-looking key (`password=…`, `token: …`, `"secret": "…"`) become `***`.
pub fn mask_secret_looking(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut mask_next = false;
    for piece in text.split_inclusive(|c: char| c.is_whitespace() || c == ',') {
        let word = piece.trim_end_matches(|c: char| c.is_whitespace() || c == ',');
        let tail = &piece[word.len()..];
        let bare = word.trim_matches(|c: char| matches!(c, '"' | '\'' | '{' | '}' | '(' | ')'));
        let lower = bare.to_ascii_lowercase();
        let key_part = lower.split(['=', ':']).next().unwrap_or_default();
        let is_key = SECRET_KEYS
            .iter()
            .any(|key| key_part.trim_matches('"').ends_with(key));
        if mask_next && !bare.is_empty() {
            out.push_str("***");
            out.push_str(tail);
            mask_next = false;
            continue;
        }
        if bare.starts_with("grm_") || (bare.starts_with("eyJ") && bare.matches('.').count() == 2) {
            out.push_str("***");
        } else if is_key {
            match word.find(['=', ':']) {
                Some(at) if at + 1 < word.len() => {
                    out.push_str(&word[..=at]);
                    out.push_str("***");
                }
                Some(_) => {
                    out.push_str(word);
                    mask_next = true;
                }
                None => {
                    out.push_str(word);
                    mask_next = lower.ends_with(':') || tail.is_empty();
                }
            }
        } else {
            out.push_str(word);
        }
        out.push_str(tail);
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn secret_looking_values_in_text_are_masked() {
        let masked = mask_secret_looking(
            "policy x denies: password=hunter2, token: grm_abc api_key eyJa.b.c clearance=2",
        );
        assert!(!masked.contains("hunter2"), "{masked}");
        assert!(!masked.contains("grm_abc"), "{masked}");
        assert!(!masked.contains("eyJa.b.c"), "{masked}");
        assert!(masked.contains("clearance=2"), "{masked}");
        assert!(masked.starts_with("policy x denies:"), "{masked}");
        let json = mask_secret_looking(r#"{"secret": "s3cr3t", "user": "ann"}"#);
        assert!(!json.contains("s3cr3t") && json.contains("ann"), "{json}");
    }
    use super::{mask_secret_looking, redact_url_password};

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
