//! The wire layer: checked views over packet bytes and validated high-level
//! representations (smoltcp `wire` style) for IPv4, IPv6, TCP and its options,
//! UDP, ICMP, ICMPv6, GRE and MPLS.
