use super::*;

fn needs(source: &str) -> Vec<Feature> {
    let script =
        netdrill_engine::script::parse(source.as_bytes(), &[]).expect("the test script parses");
    needs_of(&script).into_iter().map(|n| n.feature).collect()
}

const LISTEN: &str = "
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
";

fn with_init(init: &str, rest: &str) -> String {
    format!("`{init}`\n{LISTEN}{rest}")
}

fn ecn(value: &str) -> Vec<Feature> {
    needs(&with_init(
        &format!("./defaults.sh\nsysctl -q net.ipv4.tcp_ecn={value}\n"),
        "",
    ))
}

fn sysctl(name: &str) -> Feature {
    Feature::Sysctl(name.into())
}

#[test]
fn accecn_is_needed_by_tcp_ecn_3_to_5_in_the_init_command() {
    for v in ["3", "4", "5"] {
        assert_eq!(
            ecn(v),
            vec![sysctl(TCP_ECN), Feature::Accecn],
            "tcp_ecn={v}"
        );
    }
    // RFC 3168 ECN, off, or a value no kernel takes: no AccECN need.
    for v in ["0", "1", "2", "9", "x"] {
        assert_eq!(ecn(v), vec![sysctl(TCP_ECN)], "tcp_ecn={v}");
    }
    // set_sysctls.py, /proc/sys paths and slashed names say the same.
    let f = needs(&with_init(
        "./set_sysctls.py /proc/sys/net/ipv4/tcp_ecn=3 /proc/sys/net/ipv4/tcp_ecn_option=2",
        "",
    ));
    assert_eq!(
        f,
        vec![
            sysctl(TCP_ECN),
            Feature::Accecn,
            sysctl("net.ipv4.tcp_ecn_option")
        ]
    );
    let f = needs(&with_init("sysctl -w net/ipv4/tcp_ecn=4; true", ""));
    assert_eq!(f, vec![sysctl(TCP_ECN), Feature::Accecn]);
}

#[test]
fn a_sysctl_typo_is_no_need() {
    assert_eq!(
        needs(&with_init("sysctl -q net.ipv4.tcp_ecnn=3", "")),
        vec![]
    );
    assert!(!is_known_sysctl("net.ipv4.tcp_ecnn"));
    assert!(is_known_sysctl("net.ipv4.tcp_ecn_option"));
    assert!(!is_known_sysctl(
        "# net.* sysctls of Linux (per network namespace), one a line: a script's need for one"
    ));
    // A later sysctl command is not the init command's.
    assert_eq!(
        needs(&format!("{LISTEN}+0 `sysctl -q net.ipv4.tcp_ecn=3`\n")),
        vec![]
    );
}

#[test]
fn accecn_is_needed_by_what_the_kernel_is_to_send() {
    let out = |line: &str| {
        needs(&format!(
            "{LISTEN}+.1 < S 0:0(0) win 32792 <mss 1460>\n{line}\n"
        ))
    };
    assert_eq!(
        out("+0 > SEWA. 0:0(0) ack 1 <mss 1460>"),
        vec![Feature::Accecn]
    );
    assert_eq!(
        out("+0 > S.5 0:0(0) ack 1 <mss 1460>"),
        vec![Feature::Accecn]
    );
    assert_eq!(
        out("+0 > S. 0:0(0) ack 1 <mss 1460,ECN e1b 1 ceb 0 e0b 1,nop>"),
        vec![Feature::Accecn]
    );
    // RFC 3168 ECN flags ask nothing new.
    assert_eq!(out("+0 > SE. 0:0(0) ack 1 <mss 1460>"), vec![]);
    // An AccECN SYN sent *to* the kernel asks nothing of it.
    assert_eq!(
        needs(&format!(
            "{LISTEN}+.1 < SEWA 0:0(0) win 32792 <mss 1460>\n+0 > SE. 0:0(0) ack 1 <mss 1460>\n"
        )),
        vec![]
    );
}

#[test]
fn accecn_socket_options_and_congestion_controls() {
    let f = needs(&format!(
        "{LISTEN}+0 setsockopt(3, SOL_TCP, TCP_CONGESTION, \"bbr\", 3) = 0\n\
         +0 setsockopt(3, SOL_TCP, TCP_CONGESTION, \"bbrr\", 4) = -1 ENOENT (x)\n\
         +0 getsockopt(3, SOL_TCP, TCP_ACCECN_FOO, [1], [4]) = 0\n"
    ));
    assert_eq!(
        f,
        vec![Feature::CongestionControl("bbr".into()), Feature::Accecn]
    );
    let f = needs(&with_init(
        "sysctl -q net.ipv4.tcp_congestion_control=dctcp",
        "",
    ));
    assert_eq!(
        f,
        vec![
            sysctl("net.ipv4.tcp_congestion_control"),
            Feature::CongestionControl("dctcp".into())
        ]
    );
}

#[test]
fn qdiscs_are_needed_by_the_tc_commands_that_install_them() {
    assert_eq!(qdiscs("tc qdisc replace dev tun0 root fq"), vec!["fq"]);
    assert_eq!(
        qdiscs(
            "tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo limit 10"
        ),
        vec!["pfifo"]
    );
    assert_eq!(
        qdiscs("/sbin/tc -s qdisc add dev tun0 root handle 1: fq_codel"),
        vec!["fq_codel"]
    );
    // Removing one, showing them, or a kind no kernel has: no need.
    assert!(qdiscs("tc qdisc del dev tun0 root fq").is_empty());
    assert!(qdiscs("tc qdisc show dev tun0").is_empty());
    assert!(qdiscs("tc qdisc add dev tun0 root fqq").is_empty());
    assert!(qdiscs("echo 'tc qdisc add dev tun0 root fq'").is_empty());
    // In the init command or a later command.
    let f = needs(&format!(
        "`./defaults.sh\ntc qdisc replace dev tun0 root fq\n`\n{LISTEN}+0 `tc qdisc add dev tun0 root netem`\n"
    ));
    assert_eq!(
        f,
        vec![Feature::Qdisc("fq".into()), Feature::Qdisc("netem".into())]
    );
}

#[test]
fn a_script_that_does_not_parse_needs_nothing() {
    assert!(needs_of_source(b"`sysctl -q net.ipv4.tcp_ecn=3`\n+0 bogus(", &[]).is_empty());
    let args: Vec<String> = ["-D", "A=1", "--x", "-D", "B=two"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        defines_of(&args),
        vec![("A".into(), "1".into()), ("B".into(), "two".into())]
    );
}

fn kernel(findings: &[(Feature, bool, &str)]) -> KernelFeatures {
    KernelFeatures {
        findings: findings
            .iter()
            .map(|(feature, present, evidence)| Finding {
                feature: feature.clone(),
                present: *present,
                evidence: evidence.to_string(),
            })
            .collect(),
        probe_error: None,
    }
}

fn need(feature: Feature) -> Need {
    Need { feature, line: 1 }
}

fn reason(needs: &[Need], kernel: &KernelFeatures) -> Option<String> {
    let u = unsupported_reason(needs, kernel)?;
    assert_eq!(u.scope, Scope::AnyFailure);
    Some(u.reason)
}

#[test]
fn a_missing_sysctl_explains_only_the_init_command_and_yields_to_other_needs() {
    let old_kernel = kernel(&[
        (
            Feature::Accecn,
            false,
            "net.ipv4.tcp_ecn=3 refused: Invalid argument",
        ),
        (
            sysctl("net.ipv4.tcp_ecn_option"),
            false,
            "not in /proc/sys/net",
        ),
    ]);
    let only_sysctl =
        unsupported_reason(&[need(sysctl("net.ipv4.tcp_ecn_option"))], &old_kernel).unwrap();
    assert_eq!(
        only_sysctl,
        Unsupported {
            reason: "kernel lacks the sysctl net.ipv4.tcp_ecn_option (not in /proc/sys/net)".into(),
            scope: Scope::InitCommand,
        }
    );
    // AccECN explains any failure: it comes first, though written later.
    let both = unsupported_reason(
        &[
            need(sysctl("net.ipv4.tcp_ecn_option")),
            need(Feature::Accecn),
        ],
        &old_kernel,
    )
    .unwrap();
    assert_eq!(both.scope, Scope::AnyFailure);
    assert!(both.reason.starts_with("kernel lacks AccECN"), "{both:?}");
}

#[test]
fn only_a_feature_the_probe_found_missing_makes_a_skip() {
    let no_accecn = kernel(&[
        (
            Feature::Accecn,
            false,
            "net.ipv4.tcp_ecn=3 refused: Invalid argument",
        ),
        (
            Feature::Qdisc("pfifo".into()),
            true,
            "tc qdisc replace accepted",
        ),
        (
            Feature::Qdisc("fq".into()),
            false,
            "unknown qdisc kind: No such file or directory",
        ),
        (sysctl(TCP_ECN), true, "in /proc/sys/net"),
        (sysctl("net.ipv4.tcp_ecn_option"), true, "in /proc/sys/net"),
    ]);
    assert_eq!(
        reason(&[need(sysctl(TCP_ECN)), need(Feature::Accecn)], &no_accecn).as_deref(),
        Some("kernel lacks AccECN (net.ipv4.tcp_ecn=3 refused: Invalid argument)")
    );
    assert_eq!(
        reason(&[need(Feature::Qdisc("fq".into()))], &no_accecn).as_deref(),
        Some("kernel lacks the fq qdisc (unknown qdisc kind: No such file or directory)")
    );
    // Needs the kernel meets, needs the probe did not look at, no needs.
    assert_eq!(
        unsupported_reason(&[need(Feature::Qdisc("pfifo".into()))], &no_accecn),
        None
    );
    assert_eq!(
        unsupported_reason(&[need(sysctl(TCP_ECN))], &no_accecn),
        None
    );
    assert_eq!(unsupported_reason(&[], &no_accecn), None);
    // A kernel with AccECN, or a probe that could not run: nothing missing.
    let accecn = kernel(&[(Feature::Accecn, true, "net.ipv4.tcp_ecn=3 accepted")]);
    assert_eq!(unsupported_reason(&[need(Feature::Accecn)], &accecn), None);
    let unprobed = KernelFeatures {
        findings: vec![],
        probe_error: Some("unshare: Operation not permitted".into()),
    };
    assert_eq!(
        unsupported_reason(&[need(Feature::Accecn)], &unprobed),
        None
    );
    assert!(unprobed.summary().unwrap().contains("not probed"));
    assert_eq!(KernelFeatures::default().summary(), None);
    assert_eq!(
        no_accecn.summary().unwrap(),
        "kernel features: AccECN missing (net.ipv4.tcp_ecn=3 refused: Invalid argument); \
         the fq qdisc missing (unknown qdisc kind: No such file or directory); present: the pfifo qdisc, \
         2 sysctls"
    );
}

#[test]
fn the_probe_request_is_every_job_s_needs() {
    let needs = [
        need(Feature::Accecn),
        need(Feature::Qdisc("fq".into())),
        need(Feature::Qdisc("fq".into())),
        need(Feature::CongestionControl("bbr".into())),
        need(sysctl("net.ipv4.tcp_ecn_option")),
    ];
    assert!(ProbeRequest::of(&needs[..0]).is_empty());
    assert!(ProbeRequest::of(&needs[..1]).accecn);
    assert!(!ProbeRequest::of(&needs[1..]).accecn);
    let r = ProbeRequest::of(&needs);
    assert_eq!(r.qdiscs.into_iter().collect::<Vec<_>>(), vec!["fq"]);
    assert_eq!(
        r.congestion_controls.into_iter().collect::<Vec<_>>(),
        vec!["bbr"]
    );
    assert_eq!(
        r.sysctls.into_iter().collect::<Vec<_>>(),
        vec!["net.ipv4.tcp_ecn_option"]
    );
}

#[test]
fn findings_are_plain_json() {
    let k = kernel(&[(Feature::Qdisc("fq".into()), false, "no")]);
    let json = serde_json::to_string(&k).unwrap();
    assert_eq!(
        json,
        r#"{"findings":[{"kind":"qdisc","name":"fq","present":false,"evidence":"no"}]}"#
    );
    assert_eq!(serde_json::from_str::<KernelFeatures>(&json).unwrap(), k);
}
