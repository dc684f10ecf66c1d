//! [`EgressDenied`] (the policy refused a destination) and [`EgressError`] (refused, or the
//! name could not be resolved).

use std::fmt;
use std::net::IpAddr;

use crate::rules::Rule;

/// The policy refused a destination. Its message names the address, the rule and how to
/// allow it; it never holds a URL path or query (they may carry credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressDenied {
    denial: Denial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Denial {
    Address {
        /// The host name that resolved to `address` (none for a literal address).
        host: Option<String>,
        address: IpAddr,
        rule: Rule,
        connector_type: String,
    },
    /// An authenticated request redirected to another origin.
    CrossOriginRedirect { from: String, to: String },
}

impl EgressDenied {
    /// The stable error code of a refusal (`egress_denied`).
    pub const CODE: &'static str = "egress_denied";

    pub(crate) fn address(
        host: Option<&str>,
        address: IpAddr,
        rule: Rule,
        connector_type: &str,
    ) -> Self {
        Self {
            denial: Denial::Address {
                host: host.map(str::to_owned),
                address,
                rule,
                connector_type: connector_type.to_owned(),
            },
        }
    }

    pub(crate) fn cross_origin_redirect(from: String, to: String) -> Self {
        Self {
            denial: Denial::CrossOriginRedirect { from, to },
        }
    }

    /// The rule that matched: a [`Rule::name`] (`metadata`, `link_local`, `private`,
    /// `deny`, ...) or `same_origin_redirect`.
    pub fn rule_name(&self) -> &'static str {
        match &self.denial {
            Denial::Address { rule, .. } => rule.name(),
            Denial::CrossOriginRedirect { .. } => "same_origin_redirect",
        }
    }

    /// The address rule that matched, when an address was refused.
    pub fn rule(&self) -> Option<Rule> {
        match &self.denial {
            Denial::Address { rule, .. } => Some(*rule),
            Denial::CrossOriginRedirect { .. } => None,
        }
    }

    /// The refused address, when an address was refused.
    pub fn refused_address(&self) -> Option<IpAddr> {
        match &self.denial {
            Denial::Address { address, .. } => Some(*address),
            Denial::CrossOriginRedirect { .. } => None,
        }
    }
}

impl fmt::Display for EgressDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.denial {
            Denial::Address {
                host,
                address,
                rule,
                connector_type,
            } => {
                match host {
                    Some(host) => write!(
                        f,
                        "egress denied: {host} resolves to {address}, {} (rule {})",
                        rule.describe(),
                        rule.name()
                    )?,
                    None => write!(
                        f,
                        "egress denied: {address} is {} (rule {})",
                        rule.describe(),
                        rule.name()
                    )?,
                }
                write!(
                    f,
                    "; allow it with egress.allow, or egress.allow_for for connector type \
                     `{connector_type}`"
                )
            }
            Denial::CrossOriginRedirect { from, to } => write!(
                f,
                "egress denied: an authenticated request to {from} was redirected to {to} \
                 (rule same_origin_redirect); credentials go only to the configured origin, \
                 so the redirect is not followed — configure the final URL instead"
            ),
        }
    }
}

impl std::error::Error for EgressDenied {}

/// Why [`crate::EgressScope::resolve`] gave no address: the policy refused every address
/// of the host, or the host could not be resolved.
#[derive(Debug)]
pub enum EgressError {
    /// The policy refused the destination.
    Denied(EgressDenied),
    /// The name did not resolve (or resolved to no address).
    Lookup {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
}

impl EgressError {
    /// The refusal, when the policy refused the destination.
    pub fn denied(&self) -> Option<&EgressDenied> {
        match self {
            Self::Denied(denied) => Some(denied),
            Self::Lookup { .. } => None,
        }
    }
}

impl fmt::Display for EgressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(denied) => denied.fmt(f),
            Self::Lookup { host, source } => write!(f, "cannot resolve {host}: {source}"),
        }
    }
}

impl std::error::Error for EgressError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Denied(denied) => Some(denied),
            Self::Lookup { source, .. } => Some(source),
        }
    }
}

impl From<EgressDenied> for EgressError {
    fn from(denied: EgressDenied) -> Self {
        Self::Denied(denied)
    }
}

/// Finds an [`EgressDenied`] in `error` or its chain of sources (a refusal surfaces inside
/// `reqwest` connect and redirect errors).
pub fn find_denial<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a EgressDenied> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(denied) = error.downcast_ref::<EgressDenied>() {
            return Some(denied);
        }
        current = error.source();
    }
    None
}
