//! The address rules: built-in ranges (always denied, or denied with `deny_private`),
//! the allow and deny lists, and IPv4 addresses embedded in IPv6 ones.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The rule that denied an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A cloud instance metadata or host-agent address (169.254.169.254, fd00:ec2::254,
    /// 100.100.100.200, 168.63.129.16, ...). Always denied unless allow-listed.
    Metadata,
    /// Link-local (169.254.0.0/16, fe80::/10). Always denied unless allow-listed.
    LinkLocal,
    /// "This network" and the unspecified address (0.0.0.0/8, ::), which reach the local
    /// host. Always denied unless allow-listed.
    Unspecified,
    /// The limited broadcast address 255.255.255.255. Always denied unless allow-listed.
    Broadcast,
    /// Multicast (224.0.0.0/4, ff00::/8). Always denied unless allow-listed.
    Multicast,
    /// Reserved for future use (240.0.0.0/4). Always denied unless allow-listed.
    Reserved,
    /// Loopback (127.0.0.0/8, ::1), denied with `egress.deny_private`.
    Loopback,
    /// Private and shared ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,
    /// 100.64.0.0/10, fc00::/7, fec0::/10), denied with `egress.deny_private`.
    Private,
    /// A range of `egress.deny`.
    Deny(IpNet),
}

impl Rule {
    /// A stable snake_case name (`metadata`, `link_local`, ..., `deny`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::LinkLocal => "link_local",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::Reserved => "reserved",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::Deny(_) => "deny",
        }
    }

    /// What the address is, as the complement of "… is": `a cloud metadata address`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Metadata => "a cloud metadata address".into(),
            Self::LinkLocal => "a link-local address".into(),
            Self::Unspecified => "an unspecified (this-host) address".into(),
            Self::Broadcast => "a broadcast address".into(),
            Self::Multicast => "a multicast address".into(),
            Self::Reserved => "a reserved address".into(),
            Self::Loopback => "a loopback address, denied by egress.deny_private".into(),
            Self::Private => "a private address, denied by egress.deny_private".into(),
            Self::Deny(net) => format!("in {net}, denied by egress.deny"),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

#[allow(clippy::too_many_arguments)]
const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// IPv4 ranges denied whatever the settings, most specific first (the metadata
/// addresses lie inside link-local and shared ranges and must be named as such).
const ALWAYS_V4: &[(Ipv4Net, Rule)] = &[
    // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle... instance metadata
    (v4(169, 254, 169, 254, 32), Rule::Metadata),
    // AWS ECS task metadata and credentials
    (v4(169, 254, 170, 2, 32), Rule::Metadata),
    // AWS EKS Pod Identity agent
    (v4(169, 254, 170, 23, 32), Rule::Metadata),
    // Alibaba Cloud metadata
    (v4(100, 100, 100, 200, 32), Rule::Metadata),
    // Azure WireServer (host agent)
    (v4(168, 63, 129, 16, 32), Rule::Metadata),
    (v4(0, 0, 0, 0, 8), Rule::Unspecified),
    (v4(169, 254, 0, 0, 16), Rule::LinkLocal),
    (v4(255, 255, 255, 255, 32), Rule::Broadcast),
    (v4(224, 0, 0, 0, 4), Rule::Multicast),
    (v4(240, 0, 0, 0, 4), Rule::Reserved),
];

/// IPv4 ranges denied with `deny_private`.
const PRIVATE_V4: &[(Ipv4Net, Rule)] = &[
    (v4(127, 0, 0, 0, 8), Rule::Loopback),
    (v4(10, 0, 0, 0, 8), Rule::Private),
    (v4(172, 16, 0, 0, 12), Rule::Private),
    (v4(192, 168, 0, 0, 16), Rule::Private),
    (v4(100, 64, 0, 0, 10), Rule::Private),
];

/// IPv6 ranges denied whatever the settings.
const ALWAYS_V6: &[(Ipv6Net, Rule)] = &[
    // AWS instance metadata (IPv6 endpoint)
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128),
        Rule::Metadata,
    ),
    // AWS EKS Pod Identity agent (IPv6)
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23], 128),
        Rule::Metadata,
    ),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Rule::Unspecified),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Rule::LinkLocal),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Rule::Multicast),
];

/// IPv6 ranges denied with `deny_private`.
const PRIVATE_V6: &[(Ipv6Net, Rule)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Rule::Loopback),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Rule::Private),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Rule::Private),
];

/// IPv4-mapped addresses (`::ffff:a.b.c.d`, which a dual-stack socket connects to over
/// IPv4).
const MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
/// The well-known NAT64 prefix (RFC 6052): `64:ff9b::a.b.c.d` reaches `a.b.c.d` through a
/// NAT64 gateway.
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

/// The IPv4 address an IPv6 address stands for (IPv4-mapped or NAT64), if any.
pub(crate) fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if MAPPED.contains(&ip) || NAT64.contains(&ip) {
        let [.., a, b, c, d] = ip.octets();
        Some(Ipv4Addr::new(a, b, c, d))
    } else {
        None
    }
}

/// The address itself and, for an IPv6 address embedding an IPv4 one, that IPv4 address.
pub(crate) fn forms(ip: IpAddr) -> [Option<IpAddr>; 2] {
    let embedded = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    [Some(ip), embedded]
}

/// The built-in rule denying `ip`, if any.
pub(crate) fn builtin(ip: IpAddr, deny_private: bool) -> Option<Rule> {
    match ip {
        IpAddr::V4(v4) => builtin_v4(v4, deny_private),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => builtin_v4(v4, deny_private),
            None => builtin_v6(v6, deny_private),
        },
    }
}

fn builtin_v4(ip: Ipv4Addr, deny_private: bool) -> Option<Rule> {
    let private: &[(Ipv4Net, Rule)] = if deny_private { PRIVATE_V4 } else { &[] };
    ALWAYS_V4
        .iter()
        .chain(private)
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, rule)| *rule)
}

fn builtin_v6(ip: Ipv6Addr, deny_private: bool) -> Option<Rule> {
    let private: &[(Ipv6Net, Rule)] = if deny_private { PRIVATE_V6 } else { &[] };
    ALWAYS_V6
        .iter()
        .chain(private)
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, rule)| *rule)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn metadata_addresses_are_named_before_their_enclosing_ranges() {
        for address in [
            "169.254.169.254",
            "169.254.170.2",
            "100.100.100.200",
            "168.63.129.16",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert_eq!(
                builtin(ip(address), false),
                Some(Rule::Metadata),
                "{address}"
            );
            assert_eq!(
                builtin(ip(address), true),
                Some(Rule::Metadata),
                "{address}"
            );
        }
    }

    #[test]
    fn always_denied_ranges_hold_without_deny_private() {
        let cases = [
            ("169.254.1.1", Rule::LinkLocal),
            ("fe80::1", Rule::LinkLocal),
            ("0.0.0.0", Rule::Unspecified),
            ("::", Rule::Unspecified),
            ("::ffff:0.0.0.0", Rule::Unspecified),
            ("255.255.255.255", Rule::Broadcast),
            ("224.0.0.1", Rule::Multicast),
            ("ff02::1", Rule::Multicast),
            ("240.0.0.1", Rule::Reserved),
        ];
        for (address, rule) in cases {
            assert_eq!(builtin(ip(address), false), Some(rule), "{address}");
        }
    }

    #[test]
    fn private_ranges_only_with_deny_private() {
        let cases = [
            ("127.0.0.1", Rule::Loopback),
            ("::1", Rule::Loopback),
            ("::ffff:127.0.0.1", Rule::Loopback),
            ("10.1.2.3", Rule::Private),
            ("172.31.255.255", Rule::Private),
            ("192.168.0.10", Rule::Private),
            ("100.64.0.1", Rule::Private),
            ("fd12:3456::1", Rule::Private),
        ];
        for (address, rule) in cases {
            assert_eq!(builtin(ip(address), false), None, "{address}");
            assert_eq!(builtin(ip(address), true), Some(rule), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["93.184.215.14", "172.32.0.1", "2606:4700::1111", "8.8.8.8"] {
            assert_eq!(builtin(ip(address), true), None, "{address}");
        }
    }
}
