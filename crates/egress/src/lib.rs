//! The egress policy: which network addresses the server may connect to on behalf of a
//! caller (connectors, notifiers, OAuth token endpoints).
//!
//! (Being written: the policy rules, DNS-checked resolution and redirect checks.)

/// Where outbound connections made on a caller's behalf may go.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {}
