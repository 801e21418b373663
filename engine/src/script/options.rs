//! The names of packetdrill's flags, with whether each takes a value: what a
//! script's `--name[=value]` option lines may say (and what packetdrill's
//! command line accepts; `plan::config` gives the values their meaning).

/// Every flag packetdrill knows, with whether it takes a value.
pub const FLAGS: &[(&str, bool)] = &[
    ("ip_version", true),
    ("bind_port", true),
    ("code_command", true),
    ("code_format", true),
    ("code_sockopt", true),
    ("connect_port", true),
    ("remote_ip", true),
    ("local_ip", true),
    ("gateway_ip", true),
    ("netmask_ip", true),
    ("speed", true),
    ("mss", true),
    ("mtu", true),
    ("init_scripts", true),
    ("tolerance_usecs", true),
    ("tolerance_percent", true),
    ("wire_client", false),
    ("wire_server", false),
    ("wire_server_ip", true),
    ("wire_server_at", true),
    ("wire_server_port", true),
    ("wire_client_dev", true),
    ("wire_server_dev", true),
    ("so_filename", true),
    ("so_flags", true),
    ("tcp_ts_ecr_scaled", false),
    ("tcp_ts_tick_usecs", true),
    ("strict_segments", false),
    ("non_fatal", true),
    ("dry_run", false),
    ("is_anyip", false),
    ("send_omit_free", false),
    ("psp_udp_port", true),
    ("debug", false),
    ("define", true),
    ("verbose", false),
];

/// Whether `name` is a flag and, if so, whether it takes a value.
pub fn flag_takes_value(name: &str) -> Option<bool> {
    FLAGS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}
