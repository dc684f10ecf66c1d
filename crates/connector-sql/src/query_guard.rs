//! The text check of a `query` stream's SQL, before any database sees it: one statement,
//! starting with `SELECT`, `WITH`, `VALUES` or `TABLE`, with no data-changing keyword and
//! none of the side-effect functions listed per engine.
//!
//! This is the first of two layers: every query stream also runs inside the engine's own
//! read-only mode (a `READ ONLY` transaction that is rolled back on PostgreSQL and
//! MySQL/MariaDB, a read-only `query_only` connection on SQLite; see [`crate::read`]). SQL
//! Server has no such mode, so there this check is all grimOS can do and the connection's
//! login must itself be read-only.
//!
//! The lexer knows each engine's strings, quoted identifiers and comments, and resolves
//! every ambiguity towards *code*: text is only skipped when the engine would skip it too
//! (MySQL strings are scanned both with and without backslash escapes, since the server's
//! `sql_mode` decides), so a `;` or keyword hidden from this check would also be hidden
//! from the database. Text it cannot read (an unterminated string, a MySQL executable
//! comment `/*! ... */`, a PostgreSQL `U&"..."` identifier) is refused.

use crate::dialect::Engine;

/// Keywords that start a query.
const STARTS: &[&str] = &["select", "with", "values", "table"];

/// Keywords that change data or schema, refused anywhere outside strings, quoted
/// identifiers and comments (a data-changing `WITH`, `SELECT ... INTO`, `FOR UPDATE`).
const DENIED: &[&str] = &[
    "insert", "update", "delete", "merge", "upsert", "replace", "create", "alter", "drop",
    "truncate", "grant", "revoke", "into", "attach", "detach", "pragma", "vacuum", "reindex",
];

/// Functions with effects beyond the query's result (files, other sessions, session-level
/// locks), refused when called, also by a quoted or schema-qualified name.
const DENIED_FUNCTIONS: &[(Engine, &[&str])] = &[
    (
        Engine::Postgres,
        &[
            "lo_export",
            "lo_import",
            "lo_unlink",
            "lo_put",
            "lo_from_bytea",
            "pg_file_write",
            "pg_file_rename",
            "pg_file_unlink",
            "dblink",
            "dblink_exec",
            "dblink_connect",
            "dblink_connect_u",
            "dblink_send_query",
            "pg_terminate_backend",
            "pg_cancel_backend",
            "pg_reload_conf",
            "pg_rotate_logfile",
            "pg_promote",
            "pg_notify",
            "pg_advisory_lock",
            "pg_advisory_lock_shared",
            "pg_try_advisory_lock",
            "pg_try_advisory_lock_shared",
            "set_config",
        ],
    ),
    (
        Engine::MySql,
        &["get_lock", "release_lock", "release_all_locks"],
    ),
    (Engine::Sqlite, &["load_extension"]),
    (
        Engine::Mssql,
        &["xp_cmdshell", "sp_executesql", "sp_configure"],
    ),
];

/// T-SQL statements need no `;` between them, so on SQL Server every statement keyword is
/// refused anywhere.
const DENIED_MSSQL: &[&str] = &[
    "exec",
    "execute",
    "bulk",
    "openrowset",
    "opendatasource",
    "openquery",
    "openxml",
    "backup",
    "restore",
    "dbcc",
    "shutdown",
    "kill",
    "waitfor",
    "reconfigure",
    "use",
    "deny",
    "declare",
    "set",
    "begin",
    "commit",
    "rollback",
    "save",
    "tran",
    "transaction",
    "goto",
    "print",
    "raiserror",
    "throw",
    "writetext",
    "updatetext",
    "setuser",
    "checkpoint",
    "if",
    "while",
    "return",
];

/// `INSERT(str, pos, len, newstr)` (MySQL) and `REPLACE(str, from, to)` are string
/// functions when a `(` follows.
const FUNCTIONS_NAMED_LIKE_KEYWORDS: &[&str] = &["insert", "replace"];

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    /// An unquoted word (keyword or identifier), as written.
    Word(&'a str),
    /// The contents of a quoted identifier (escapes not undone).
    Quoted(&'a str),
    /// A string literal (contents irrelevant).
    Literal,
    /// Any other character that is code.
    Punct(u8),
}

/// Checks a query stream's SQL for `engine`. The error says what is refused (a keyword,
/// never the query text).
pub fn check(engine: Engine, sql: &str) -> Result<(), String> {
    if sql.trim().is_empty() {
        return Err("must not be empty".into());
    }
    // MySQL's backslash escapes depend on the server's sql_mode: read it both ways.
    let readings: &[bool] = match engine {
        Engine::MySql | Engine::Postgres => &[false, true],
        Engine::Sqlite | Engine::Mssql => &[false],
    };
    for &backslash in readings {
        let tokens = lex(engine, sql, backslash)?;
        check_tokens(engine, &tokens)?;
    }
    Ok(())
}

fn check_tokens(engine: Engine, tokens: &[Token<'_>]) -> Result<(), String> {
    if tokens.contains(&Token::Punct(b';')) {
        return Err("a query stream is one statement: `;` is not allowed".into());
    }
    let first = tokens.iter().find(|t| **t != Token::Punct(b'('));
    match first {
        Some(Token::Word(word)) if STARTS.iter().any(|s| word.eq_ignore_ascii_case(s)) => {}
        Some(Token::Word(word)) => {
            return Err(format!(
                "a query stream is read-only: it must start with SELECT or WITH, not `{}`",
                word.to_ascii_uppercase()
            ));
        }
        _ => return Err("a query stream is read-only: it must start with SELECT or WITH".into()),
    }
    let functions = DENIED_FUNCTIONS
        .iter()
        .find(|(e, _)| *e == engine)
        .map(|(_, names)| *names)
        .unwrap_or_default();
    for (index, token) in tokens.iter().enumerate() {
        let followed_by_paren = tokens.get(index + 1) == Some(&Token::Punct(b'('));
        match token {
            Token::Word(word) => {
                let lower = word.to_ascii_lowercase();
                let keyword = DENIED.contains(&lower.as_str())
                    || (engine == Engine::Mssql && DENIED_MSSQL.contains(&lower.as_str()));
                let function_call =
                    followed_by_paren && FUNCTIONS_NAMED_LIKE_KEYWORDS.contains(&lower.as_str());
                if keyword && !function_call {
                    return Err(format!(
                        "a query stream is read-only: `{}` is not allowed",
                        lower.to_ascii_uppercase()
                    ));
                }
                if followed_by_paren && functions.contains(&lower.as_str()) {
                    return Err(format!(
                        "a query stream may not call `{lower}` (it acts beyond reading)"
                    ));
                }
            }
            Token::Quoted(name) => {
                let lower = name.to_ascii_lowercase();
                if followed_by_paren && functions.contains(&lower.as_str()) {
                    return Err(format!(
                        "a query stream may not call `{lower}` (it acts beyond reading)"
                    ));
                }
            }
            Token::Literal | Token::Punct(_) => {}
        }
    }
    Ok(())
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Splits `sql` into tokens as `engine` reads it; `backslash`: whether `\` escapes inside
/// ordinary single-quoted strings (MySQL's default; PostgreSQL's before
/// `standard_conforming_strings`).
fn lex(engine: Engine, sql: &str, backslash: bool) -> Result<Vec<Token<'_>>, String> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let unterminated = |what: &str| format!("the query has an unterminated {what}");
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match b {
            b if b.is_ascii_whitespace() => i += 1,
            b'-' if next == Some(b'-') => {
                // MySQL needs whitespace (or a control character, or the end) after `--`.
                let after = bytes.get(i + 2).copied();
                if engine == Engine::MySql && after.is_some_and(|a| a > b' ') {
                    tokens.push(Token::Punct(b'-'));
                    i += 1;
                    continue;
                }
                i = skip_line(bytes, i);
            }
            b'#' if engine == Engine::MySql => i = skip_line(bytes, i),
            b'/' if next == Some(b'*') => {
                if engine == Engine::MySql
                    && matches!(bytes.get(i + 2), Some(b'!') | Some(b'M') | Some(b'm'))
                    && (bytes.get(i + 2) == Some(&b'!') || bytes.get(i + 3) == Some(&b'!'))
                {
                    return Err(
                        "MySQL executable comments (/*! ... */) are not allowed in a query stream"
                            .into(),
                    );
                }
                let nested = matches!(engine, Engine::Postgres | Engine::Mssql);
                i = skip_block_comment(bytes, i, nested).ok_or_else(|| unterminated("comment"))?;
            }
            b'\'' => {
                let escapes = match engine {
                    Engine::MySql => backslash,
                    Engine::Postgres => backslash || previous_is_e_prefix(bytes, i),
                    Engine::Sqlite | Engine::Mssql => false,
                };
                i = skip_quoted(bytes, i, b'\'', escapes).ok_or_else(|| unterminated("string"))?;
                tokens.push(Token::Literal);
            }
            b'"' => {
                if engine == Engine::Postgres && previous_is_unicode_prefix(bytes, i) {
                    return Err("U&\"...\" identifiers are not allowed in a query stream".into());
                }
                let escapes = engine == Engine::MySql && backslash;
                let end = skip_quoted(bytes, i, b'"', escapes)
                    .ok_or_else(|| unterminated("quoted identifier"))?;
                tokens.push(Token::Quoted(&sql[i + 1..end - 1]));
                i = end;
            }
            b'`' if matches!(engine, Engine::MySql | Engine::Sqlite) => {
                let end = skip_quoted(bytes, i, b'`', false)
                    .ok_or_else(|| unterminated("quoted identifier"))?;
                tokens.push(Token::Quoted(&sql[i + 1..end - 1]));
                i = end;
            }
            b'[' if matches!(engine, Engine::Sqlite | Engine::Mssql) => {
                let end = skip_bracketed(bytes, i, engine == Engine::Mssql)
                    .ok_or_else(|| unterminated("quoted identifier"))?;
                tokens.push(Token::Quoted(&sql[i + 1..end - 1]));
                i = end;
            }
            b'$' if engine == Engine::Postgres => {
                match dollar_tag(bytes, i) {
                    Some(tag_end) => {
                        let tag = &bytes[i..tag_end];
                        let body_end = find(bytes, tag_end, tag)
                            .ok_or_else(|| unterminated("dollar-quoted string"))?;
                        tokens.push(Token::Literal);
                        i = body_end + tag.len();
                    }
                    // `$1`, or a `$` on its own: code.
                    None => {
                        let start = i;
                        i += 1;
                        while i < bytes.len() && is_word_byte(bytes[i]) {
                            i += 1;
                        }
                        tokens.push(Token::Word(&sql[start..i]));
                    }
                }
            }
            b if is_word_byte(b) => {
                let start = i;
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                tokens.push(Token::Word(&sql[start..i]));
            }
            other => {
                tokens.push(Token::Punct(other));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// The index after the end of the line starting a comment at `i`.
fn skip_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |p| i + p + 1)
}

/// The index after the block comment opening at `i`, `None` when it never closes.
fn skip_block_comment(bytes: &[u8], i: usize, nested: bool) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j + 1 < bytes.len() {
        if bytes[j] == b'/' && bytes[j + 1] == b'*' && (nested || depth == 0) {
            depth += 1;
            j += 2;
        } else if bytes[j] == b'*' && bytes[j + 1] == b'/' {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return Some(j);
            }
        } else {
            j += 1;
        }
    }
    None
}

/// The index after the quoted text opening at `i` with `quote` (doubled to escape, and
/// after a backslash when `backslash`), `None` when it never closes.
fn skip_quoted(bytes: &[u8], i: usize, quote: u8, backslash: bool) -> Option<usize> {
    let mut j = i + 1;
    while j < bytes.len() {
        let b = bytes[j];
        if backslash && b == b'\\' {
            j += 2;
        } else if b == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
            } else {
                return Some(j + 1);
            }
        } else {
            j += 1;
        }
    }
    None
}

/// `[identifier]` (SQL Server doubles `]` to escape it; SQLite has no escape).
fn skip_bracketed(bytes: &[u8], i: usize, doubled: bool) -> Option<usize> {
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == b']' {
            if doubled && bytes.get(j + 1) == Some(&b']') {
                j += 2;
            } else {
                return Some(j + 1);
            }
        } else {
            j += 1;
        }
    }
    None
}

/// Whether the quote at `i` opens a PostgreSQL `E'...'` string.
fn previous_is_e_prefix(bytes: &[u8], i: usize) -> bool {
    i >= 1 && bytes[i - 1].eq_ignore_ascii_case(&b'e') && (i == 1 || !is_word_byte(bytes[i - 2]))
}

/// Whether the quote at `i` opens a PostgreSQL `U&"..."` identifier.
fn previous_is_unicode_prefix(bytes: &[u8], i: usize) -> bool {
    i >= 2 && bytes[i - 1] == b'&' && bytes[i - 2].eq_ignore_ascii_case(&b'u')
}

/// The end of a dollar-quote tag (`$$`, `$tag$`) starting at `i`, if one starts there.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if bytes.get(j).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    while j < bytes.len() && is_word_byte(bytes[j]) && bytes[j] != b'$' {
        j += 1;
    }
    (bytes.get(j) == Some(&b'$')).then_some(j + 1)
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const ENGINES: [Engine; 4] = [
        Engine::Postgres,
        Engine::MySql,
        Engine::Sqlite,
        Engine::Mssql,
    ];

    #[test]
    fn plain_selects_pass_everywhere() {
        for engine in ENGINES {
            for sql in [
                "SELECT id, amount FROM orders WHERE amount > 100",
                "select * from t where note = 'a; delete from t' -- trailing; comment",
                "WITH big AS (SELECT * FROM orders WHERE amount > 100) SELECT * FROM big",
                "(SELECT 1) UNION ALL (SELECT 2)",
                "SELECT updated_at, created_into, inserted FROM t /* update; */",
            ] {
                check(engine, sql).unwrap_or_else(|e| panic!("{engine:?}: {sql}: {e}"));
            }
        }
        check(
            Engine::Postgres,
            "SELECT $$;delete$$, $x$ ; $x$, E'it\\'s;', $1",
        )
        .unwrap();
        check(
            Engine::MySql,
            "SELECT INSERT('abc', 1, 1, 'x'), REPLACE(a, 'b', 'c') FROM t",
        )
        .unwrap();
        check(Engine::Mssql, "SELECT [drop;table] FROM [dbo].[t]").unwrap();
    }

    #[test]
    fn writes_and_second_statements_are_refused() {
        for engine in ENGINES {
            for sql in [
                "update users set role = 'admin' where name = 'me' returning id",
                "insert into t values (1)",
                "delete from t",
                "create table t (id int)",
                "attach database '/data/grimos.db' as p",
                "pragma writable_schema = on",
                "copy (select 1) to program 'touch /tmp/x'",
                "SELECT 1; DELETE FROM t",
                "SELECT 1; -- nothing after",
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "SELECT * INTO new_table FROM t",
                "SELECT * FROM t FOR UPDATE",
                "EXPLAIN ANALYZE DELETE FROM t",
                "DO $$ BEGIN DELETE FROM t; END $$",
                "SELECT 'unterminated",
                "SELECT 1 /* unterminated",
                "  ",
            ] {
                assert!(check(engine, sql).is_err(), "{engine:?} accepted {sql}");
            }
        }
    }

    #[test]
    fn engine_specific_hiding_places_are_read_as_the_engine_reads_them() {
        // SQLite comments do not nest: the DELETE after the first `*/` is code.
        assert!(check(Engine::Sqlite, "SELECT 1 /* /* */ ; DELETE FROM t /* */").is_err());
        // PostgreSQL's nest: still refused (the `;` is outside after the outer close).
        assert!(check(Engine::Postgres, "SELECT 1 /* /* */ */ ; DELETE FROM t").is_err());
        // MySQL: a backslash may or may not escape, depending on sql_mode.
        assert!(check(Engine::MySql, "SELECT 'a\\' ; DELETE FROM t; '").is_err());
        assert!(check(Engine::MySql, "SELECT \"a\\\" ; DELETE FROM t; \"").is_err());
        // PostgreSQL with standard_conforming_strings off.
        assert!(check(Engine::Postgres, "SELECT 'a\\' ; DELETE FROM t; '").is_err());
        // MySQL: `--x` is not a comment; `#` is; executable comments are refused.
        assert!(check(Engine::MySql, "SELECT 1 --1\n; DELETE FROM t").is_err());
        check(Engine::MySql, "SELECT 1 # ; DELETE FROM t").unwrap();
        assert!(check(Engine::MySql, "SELECT 1 /*! ; DELETE FROM t */").is_err());
        assert!(
            check(
                Engine::MySql,
                "SELECT 1 /*M!100000 INTO OUTFILE '/tmp/x' */"
            )
            .is_err()
        );
        assert!(check(Engine::MySql, "SELECT * FROM t INTO OUTFILE '/tmp/x'").is_err());
        // SQL Server needs no `;` between statements.
        assert!(check(Engine::Mssql, "SELECT 1 EXEC('DROP TABLE t')").is_err());
        assert!(check(Engine::Mssql, "SELECT 1 DECLARE @x int").is_err());
        // Side-effect functions, also quoted or schema-qualified.
        assert!(check(Engine::Postgres, "SELECT lo_export(1, '/tmp/x')").is_err());
        assert!(check(Engine::Postgres, "SELECT \"lo_export\"(1, '/tmp/x')").is_err());
        assert!(
            check(
                Engine::Postgres,
                "SELECT pg_catalog.set_config('a.b', 'c', false)"
            )
            .is_err()
        );
        assert!(check(Engine::Postgres, "SELECT U&\"\\006co_export\"(1, '/tmp/x')").is_err());
        assert!(check(Engine::MySql, "SELECT GET_LOCK('x', 1)").is_err());
        // A dollar quote never closed is refused; `$1` is a parameter, `a$b` a name.
        assert!(check(Engine::Postgres, "SELECT $x$ ; DELETE FROM t").is_err());
        check(Engine::Postgres, "SELECT a$b FROM t WHERE id = $1").unwrap();
    }

    #[test]
    fn errors_name_the_keyword_not_the_query() {
        let err = check(Engine::Postgres, "update users set secret = 'hunter2'").unwrap_err();
        assert!(err.contains("UPDATE"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
