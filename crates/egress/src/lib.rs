//! The egress policy: which network addresses the server may connect to on behalf of a
//! caller (connectors, notifiers, OAuth token endpoints).
//!
//! An [`EgressPolicy`] is built once from the settings ([`EgressRules`]) and lent to every
//! connector build. A connector takes its [`EgressScope`] (the policy for its connector
//! type) and connects only through it:
//!
//! - HTTP clients from [`EgressScope::client_builder`] resolve names through
//!   [`EgressResolver`], which drops denied addresses from every lookup — the address
//!   checked is the one connected to, so DNS rebinding is caught; they follow redirects
//!   only when each hop passes the policy (and, for authenticated requests, stays on the
//!   original origin); they ignore `HTTP(S)_PROXY`, since a proxy would resolve names
//!   itself, out of the policy's sight.
//! - Literal IP addresses never reach a resolver: [`EgressScope::check_url`] checks them
//!   before a request is sent.
//! - Other protocols (SQL) resolve with [`EgressScope::resolve`] /
//!   [`EgressPolicy::resolve_checked`] and connect to the addresses it returns.
//!
//! Rules, in order: an address in `allow_for` (for this connector type) or `allow` is
//! allowed — allow lists override every deny rule, cloud metadata included, since an
//! administrator wrote them; else an address in `deny` is denied; else the built-in rules
//! apply ([`Rule`]): cloud metadata, link-local, unspecified, broadcast, multicast and
//! reserved addresses always, loopback and private ranges with `deny_private`. IPv4
//! addresses embedded in IPv6 ones (`::ffff:a.b.c.d`, `64:ff9b::a.b.c.d`) are judged as
//! the IPv4 address.

mod error;
mod rules;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;

pub use error::{EgressDenied, EgressError, find_denial};
pub use rules::Rule;

/// How many redirects a request may follow.
pub const MAX_REDIRECTS: usize = 10;

/// The settings of an [`EgressPolicy`] (`egress.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressRules {
    /// Also deny loopback (127.0.0.0/8, ::1) and private ranges (10.0.0.0/8,
    /// 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, fec0::/10).
    pub deny_private: bool,
    /// Ranges allowed for every connector type, whatever else says.
    pub allow: Vec<IpNet>,
    /// Ranges denied (unless allowed).
    pub deny: Vec<IpNet>,
    /// Ranges allowed for one connector type (`rest`, `sql`, `notify`, ...).
    pub allow_for: Vec<(String, IpNet)>,
}

/// Resolves host names to socket addresses. [`SystemLookup`] asks the operating system;
/// tests (and deployments with their own name service) give another.
pub trait Lookup: Send + Sync + fmt::Debug {
    /// The addresses of `host` (a name, never a literal address) with `port`.
    fn lookup(
        &self,
        host: String,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;
}

/// The operating system's resolver (`getaddrinfo` through Tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    }
}

/// Where outbound connections made on a caller's behalf may go.
///
/// Cheap to clone. The default denies the built-in ranges (cloud metadata, link-local,
/// ...) and allows private ones.
#[derive(Clone)]
pub struct EgressPolicy {
    rules: Arc<EgressRules>,
    lookup: Arc<dyn Lookup>,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self::new(EgressRules::default())
    }
}

impl fmt::Debug for EgressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressPolicy")
            .field("rules", &self.rules)
            .field("lookup", &self.lookup)
            .finish()
    }
}

impl EgressPolicy {
    /// The policy of `rules`, resolving names with the operating system.
    pub fn new(rules: EgressRules) -> Self {
        Self {
            rules: Arc::new(rules),
            lookup: Arc::new(SystemLookup),
        }
    }

    /// The same policy resolving names with `lookup`.
    #[must_use]
    pub fn with_lookup(mut self, lookup: Arc<dyn Lookup>) -> Self {
        self.lookup = lookup;
        self
    }

    /// The rules.
    pub fn rules(&self) -> &EgressRules {
        &self.rules
    }

    /// The policy as it applies to `connector_type`.
    pub fn scope(&self, connector_type: &str) -> EgressScope {
        EgressScope {
            policy: self.clone(),
            connector_type: Arc::from(connector_type),
        }
    }

    /// The rule denying `ip` for `connector_type`, if any.
    pub fn rule_for(&self, ip: IpAddr, connector_type: &str) -> Option<Rule> {
        let forms = rules::forms(ip);
        let contains = |net: &IpNet| forms.iter().flatten().any(|form| net.contains(form));
        let allowed = self.rules.allow.iter().any(contains)
            || self
                .rules
                .allow_for
                .iter()
                .any(|(kind, net)| kind == connector_type && contains(net));
        if allowed {
            return None;
        }
        if let Some(net) = self.rules.deny.iter().find(|net| contains(net)) {
            return Some(Rule::Deny(*net));
        }
        rules::builtin(ip, self.rules.deny_private)
    }

    /// Checks a literal address for `connector_type`.
    pub fn check_ip(&self, ip: IpAddr, connector_type: &str) -> Result<(), EgressDenied> {
        self.scope(connector_type).check_ip(ip)
    }

    /// Resolves `host` (a name or a literal address) and returns its allowed addresses
    /// with `port`, for protocols that connect themselves (SQL). See
    /// [`EgressScope::resolve`].
    pub async fn resolve_checked(
        &self,
        host: &str,
        port: u16,
        connector_type: &str,
    ) -> Result<Vec<SocketAddr>, EgressError> {
        self.scope(connector_type).resolve(host, port).await
    }
}

/// Which redirects a client follows (each hop is checked against the policy either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Only to the origin (scheme, host, port) of the request: for requests carrying
    /// credentials — `reqwest` drops `Authorization` on a cross-host redirect but not
    /// custom headers (`X-Api-Key`), so a cross-origin redirect is refused instead.
    SameOrigin,
    /// To any origin the policy allows.
    AnyOrigin,
    /// None: a redirect answer is returned as it is.
    Never,
}

/// An [`EgressPolicy`] for one connector type (what `egress.allow_for` names).
#[derive(Debug, Clone)]
pub struct EgressScope {
    policy: EgressPolicy,
    connector_type: Arc<str>,
}

impl EgressScope {
    /// The connector type.
    pub fn connector_type(&self) -> &str {
        &self.connector_type
    }

    /// The policy.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// Checks a literal address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), EgressDenied> {
        self.check_address(None, ip)
    }

    fn check_address(&self, host: Option<&str>, ip: IpAddr) -> Result<(), EgressDenied> {
        match self.policy.rule_for(ip, &self.connector_type) {
            None => Ok(()),
            Some(rule) => {
                tracing::warn!(
                    target: "egress",
                    connector_type = %self.connector_type,
                    host = host.unwrap_or_default(),
                    address = %ip,
                    rule = rule.name(),
                    "egress denied"
                );
                Err(EgressDenied::address(host, ip, rule, &self.connector_type))
            }
        }
    }

    /// Checks the host of `url` when it is a literal address (which no resolver sees);
    /// a name passes here and is checked when it is resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), EgressDenied> {
        match url.host_str().and_then(literal_address) {
            Some(ip) => self.check_ip(ip),
            None => Ok(()),
        }
    }

    /// Resolves `host` (a name, or a literal address which is only checked) and returns
    /// its allowed addresses with `port`. Denied addresses are dropped; when none is left
    /// the first refusal is the error. Connect to the returned addresses, not to the name
    /// again (a second lookup may answer differently).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        if let Some(ip) = literal_address(host) {
            self.check_ip(ip)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let host = host.trim_end_matches('.');
        let found = self
            .policy
            .lookup
            .lookup(host.to_owned(), port)
            .await
            .map_err(|source| EgressError::Lookup {
                host: host.to_owned(),
                source,
            })?;
        let mut allowed = Vec::with_capacity(found.len());
        let mut refusal = None;
        for address in found {
            match self.check_address(Some(host), address.ip()) {
                Ok(()) => allowed.push(address),
                Err(denied) => {
                    refusal.get_or_insert(denied);
                }
            }
        }
        match (allowed.is_empty(), refusal) {
            (false, _) => Ok(allowed),
            (true, Some(denied)) => Err(EgressError::Denied(denied)),
            (true, None) => Err(EgressError::Lookup {
                host: host.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address found"),
            }),
        }
    }

    /// The resolver for `reqwest` clients: lookups with denied addresses dropped.
    pub fn resolver(&self) -> Arc<EgressResolver> {
        Arc::new(EgressResolver {
            scope: self.clone(),
        })
    }

    /// The redirect policy: at most [`MAX_REDIRECTS`] hops, each hop's literal address
    /// checked (names are checked by the resolver when connecting), and with
    /// [`Redirects::SameOrigin`] only hops on the request's origin.
    pub fn redirect_policy(&self, redirects: Redirects) -> reqwest::redirect::Policy {
        if redirects == Redirects::Never {
            return reqwest::redirect::Policy::none();
        }
        let scope = self.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(TooManyRedirects);
            }
            if let Err(denied) = scope.check_url(attempt.url()) {
                return attempt.error(denied);
            }
            if redirects == Redirects::SameOrigin
                && let Some(first) = attempt.previous().first()
                && !same_origin(first, attempt.url())
            {
                let denied =
                    EgressDenied::cross_origin_redirect(origin(first), origin(attempt.url()));
                tracing::warn!(
                    target: "egress",
                    connector_type = %scope.connector_type,
                    rule = denied.rule_name(),
                    "egress denied: cross-origin redirect of an authenticated request"
                );
                return attempt.error(denied);
            }
            attempt.follow()
        })
    }

    /// A client builder resolving through [`Self::resolver`], redirecting by
    /// [`Self::redirect_policy`] and using no proxy. Add timeouts, TLS roots and the rest;
    /// then check each request's URL with [`Self::check_url`] before sending it.
    pub fn client_builder(&self, redirects: Redirects) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(self.resolver())
            .redirect(self.redirect_policy(redirects))
            .no_proxy()
    }
}

/// A `reqwest` resolver applying an [`EgressScope`]: a refusal fails the connection with
/// an [`EgressDenied`] in the error's sources (see [`find_denial`]).
#[derive(Debug)]
pub struct EgressResolver {
    scope: EgressScope,
}

impl reqwest::dns::Resolve for EgressResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let scope = self.scope.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match scope.resolve(&host, 0).await {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs),
                Err(EgressError::Denied(denied)) => Err(Box::new(denied) as _),
                Err(error) => Err(Box::new(error) as _),
            }
        })
    }
}

/// The address `host` spells, if it is one (`[...]` around IPv6 allowed).
fn literal_address(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `scheme://host[:port]` — never the path or query, which may hold credentials.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[derive(Debug)]
struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {MAX_REDIRECTS} redirects")
    }
}

impl std::error::Error for TooManyRedirects {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_denies_metadata_and_allows_private_ranges() {
        let policy = EgressPolicy::default();
        let denied = policy.check_ip(ip("169.254.169.254"), "rest").unwrap_err();
        assert_eq!(denied.rule_name(), "metadata");
        assert_eq!(
            denied.to_string(),
            "egress denied: 169.254.169.254 is a cloud metadata address (rule metadata); \
             allow it with egress.allow, or egress.allow_for for connector type `rest`"
        );
        assert!(policy.check_ip(ip("127.0.0.1"), "rest").is_ok());
        assert!(policy.check_ip(ip("10.0.0.1"), "rest").is_ok());
    }

    #[test]
    fn ipv4_mapped_and_nat64_forms_are_caught() {
        let policy = EgressPolicy::default();
        for address in [
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "64:ff9b::169.254.169.254",
        ] {
            let denied = policy.check_ip(ip(address), "rest").unwrap_err();
            assert_eq!(denied.rule(), Some(Rule::Metadata), "{address}");
        }
        let strict = EgressPolicy::new(EgressRules {
            deny_private: true,
            ..EgressRules::default()
        });
        assert_eq!(
            strict.rule_for(ip("::ffff:127.0.0.1"), "rest"),
            Some(Rule::Loopback)
        );
    }

    #[test]
    fn allow_lists_override_every_rule_and_allow_for_only_its_type() {
        let policy = EgressPolicy::new(EgressRules {
            deny_private: true,
            allow: vec![net("169.254.169.254/32")],
            deny: vec![net("10.0.0.0/8")],
            allow_for: vec![("sql".into(), net("10.1.0.0/16"))],
        });
        assert!(policy.check_ip(ip("169.254.169.254"), "rest").is_ok());
        // the mapped form of an allowed address is allowed too
        assert!(
            policy
                .check_ip(ip("::ffff:169.254.169.254"), "rest")
                .is_ok()
        );
        assert!(policy.check_ip(ip("10.1.2.3"), "sql").is_ok());
        let denied = policy.check_ip(ip("10.1.2.3"), "rest").unwrap_err();
        assert_eq!(denied.rule(), Some(Rule::Deny(net("10.0.0.0/8"))));
        assert!(
            denied
                .to_string()
                .contains("in 10.0.0.0/8, denied by egress.deny")
        );
        assert_eq!(
            policy.rule_for(ip("192.168.1.1"), "rest"),
            Some(Rule::Private)
        );
    }

    #[test]
    fn explicit_deny_applies_without_deny_private() {
        let policy = EgressPolicy::new(EgressRules {
            deny: vec![net("203.0.113.0/24")],
            ..EgressRules::default()
        });
        assert_eq!(
            policy.rule_for(ip("203.0.113.9"), "rest"),
            Some(Rule::Deny(net("203.0.113.0/24")))
        );
        assert_eq!(policy.rule_for(ip("198.51.100.1"), "rest"), None);
    }

    #[test]
    fn literal_urls_are_checked_and_names_left_to_the_resolver() {
        let scope = EgressPolicy::default().scope("rest");
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            // the URL parser normalises other spellings of an IPv4 address
            "http://2852039166/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://0.0.0.0:8080/",
        ] {
            assert!(scope.check_url(&Url::parse(url).unwrap()).is_err(), "{url}");
        }
        assert!(
            scope
                .check_url(&Url::parse("http://metadata.google.internal/").unwrap())
                .is_ok()
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Url::parse("https://api.example.com/v1?key=secret").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://api.example.com:443/other").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://api.example.com/").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://api.example.com:8443/").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://evil.example.com/").unwrap()
        ));
        assert_eq!(origin(&a), "https://api.example.com");
    }
}
