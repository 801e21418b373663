//! Kernel features that scripts need and kernels differ in, and the one
//! decision they feed: whether a job that failed is a SKIP (kselftest's
//! convention for missing support) because its script needs a feature the
//! running kernel lacks.
//!
//! Three plain steps, each over data:
//!
//! - [`needs_of`]: what a script needs, read from the script itself: its init
//!   command's sysctls (`sysctl -q net.ipv4.tcp_ecn=3`, `set_sysctls.py
//!   /proc/sys/net/...=V`), AccECN in what the kernel is to send (the `AE`
//!   flag or an ACE digit on an outbound packet, the AccECN option on one) or in
//!   its socket options (`TCP_ACCECN...`), the qdiscs its commands install
//!   (`tc qdisc add|replace ... fq`) and the congestion controls it selects
//!   (`TCP_CONGESTION`, `net.ipv4.tcp_congestion_control`);
//! - [`ProbeRequest::of`]: what the probe ([`crate::kernel_probe`]) is to look
//!   at, given every job's needs; it finds [`KernelFeatures`];
//! - [`unsupported_reason`]: a job's needs against those findings.
//!
//! Never a hidden regression: only a feature that the probe found missing can
//! make a failure a skip, and only for a script that needs it; a pass stays a
//! pass. A need is only ever a *known* feature: a qdisc or congestion control
//! Linux has, a sysctl name Linux has ([`KNOWN_SYSCTLS`]), `net.ipv4.tcp_ecn`
//! set to an AccECN value (3 to 5). So a typo (`net.ipv4.tcp_ecnn`, `fqq`) or a
//! value no kernel takes (`tcp_ecn=9`) is no need, and its failure stays a
//! failure; so is a failure of a script whose needs this kernel meets.

use netdrill_engine::script::{Action, Direction, ExprKind, PacketBody, Script, TcpOptionSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A kernel feature that scripts need and kernels differ in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Feature {
    /// Accurate ECN (RFC 9768): `net.ipv4.tcp_ecn` takes 3 to 5.
    Accecn,
    /// A queueing discipline, by its kind (`fq`).
    Qdisc(String),
    /// A TCP congestion control, by its name (`bbr`).
    CongestionControl(String),
    /// A sysctl under `/proc/sys/net` of a network namespace, dotted.
    Sysctl(String),
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Feature::Accecn => f.write_str("AccECN"),
            Feature::Qdisc(kind) => write!(f, "the {kind} qdisc"),
            Feature::CongestionControl(name) => write!(f, "the {name} congestion control"),
            Feature::Sysctl(name) => write!(f, "the sysctl {name}"),
        }
    }
}

/// A feature a script needs, and the line that says so.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub feature: Feature,
    /// The script line (of the init command's start, for its sysctls).
    pub line: u32,
}

/// Queueing disciplines of Linux (`tc qdisc` kinds).
pub const KNOWN_QDISCS: &[&str] = &[
    "bfifo",
    "cake",
    "cbs",
    "choke",
    "codel",
    "drr",
    "etf",
    "ets",
    "fq",
    "fq_codel",
    "fq_pie",
    "gred",
    "hfsc",
    "hhf",
    "htb",
    "mq",
    "mqprio",
    "multiq",
    "netem",
    "pfifo",
    "pfifo_fast",
    "pfifo_head_drop",
    "pie",
    "plug",
    "prio",
    "qfq",
    "red",
    "sfb",
    "sfq",
    "skbprio",
    "taprio",
    "tbf",
];

/// TCP congestion controls of Linux.
pub const KNOWN_CONGESTION_CONTROLS: &[&str] = &[
    "bbr",
    "bic",
    "cdg",
    "cubic",
    "dctcp",
    "highspeed",
    "htcp",
    "hybla",
    "illinois",
    "lp",
    "nv",
    "reno",
    "scalable",
    "vegas",
    "veno",
    "westwood",
    "yeah",
];

/// The `net.*` sysctls Linux has in a network namespace (see the file's head).
pub const KNOWN_SYSCTLS: &str = include_str!("net_sysctls.txt");

/// Whether `name` is a sysctl of [`KNOWN_SYSCTLS`].
pub fn is_known_sysctl(name: &str) -> bool {
    KNOWN_SYSCTLS
        .lines()
        .any(|l| !l.starts_with('#') && l.trim() == name)
}

/// The sysctl that selects ECN, and its AccECN values.
pub const TCP_ECN: &str = "net.ipv4.tcp_ecn";
/// `net.ipv4.tcp_ecn` values that ask for AccECN.
pub const ACCECN_VALUES: std::ops::RangeInclusive<u32> = 3..=5;

/// What `script` needs, in script order, each feature once.
pub fn needs_of(script: &Script) -> Vec<Need> {
    let mut needs: Vec<Need> = Vec::new();
    if let Some(init) = &script.init_command {
        let line = init.span.line;
        for (name, value) in init_sysctls(&init.text) {
            needs.extend(
                sysctl_needs(&name, &value)
                    .into_iter()
                    .map(|feature| Need { feature, line }),
            );
        }
        needs.extend(qdiscs(&init.text).into_iter().map(|kind| Need {
            feature: Feature::Qdisc(kind),
            line,
        }));
    }
    for event in &script.events {
        let line = event.line;
        let features: Vec<Feature> = match &event.action {
            Action::Packet(p) => packet_needs(p.direction, &p.body),
            Action::Syscall(call) => syscall_needs(&call.args),
            Action::Command(c) => qdiscs(&c.text).into_iter().map(Feature::Qdisc).collect(),
            Action::Code(_) => Vec::new(),
        };
        needs.extend(features.into_iter().map(|feature| Need { feature, line }));
    }
    let mut seen = BTreeSet::new();
    needs.retain(|n| seen.insert(n.feature.clone()));
    needs
}

/// What the script at `source` needs; a script that does not parse needs
/// nothing (it fails for that, and that stays a failure).
pub fn needs_of_source(source: &[u8], defines: &[(String, String)]) -> Vec<Need> {
    netdrill_engine::script::parse(source, defines)
        .map(|s| needs_of(&s))
        .unwrap_or_default()
}

/// The `-D NAME=VALUE` defines among packetdrill arguments.
pub fn defines_of(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .zip(args.iter().skip(1))
        .filter(|(flag, _)| *flag == "-D")
        .filter_map(|(_, d)| d.split_once('='))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// The features a sysctl setting asks for.
fn sysctl_needs(name: &str, value: &str) -> Vec<Feature> {
    let mut out = Vec::new();
    if !is_known_sysctl(name) {
        return out;
    }
    out.push(Feature::Sysctl(name.to_string()));
    if name == TCP_ECN
        && value
            .trim()
            .parse::<u32>()
            .is_ok_and(|v| ACCECN_VALUES.contains(&v))
    {
        out.push(Feature::Accecn);
    }
    if name == "net.ipv4.tcp_congestion_control" && KNOWN_CONGESTION_CONTROLS.contains(&value) {
        out.push(Feature::CongestionControl(value.to_string()));
    }
    out
}

/// AccECN in what the kernel is to send: the AE flag, an ACE digit, or the
/// AccECN option on an outbound TCP packet. (An inbound one asks nothing of
/// the kernel: a kernel without AccECN answers it as RFC 3168 says.)
fn packet_needs(direction: Direction, body: &PacketBody) -> Vec<Feature> {
    let PacketBody::Tcp(tcp) = body else {
        return Vec::new();
    };
    if direction != Direction::Outbound {
        return Vec::new();
    }
    let flags = tcp.flags.value;
    let option = match &tcp.options {
        netdrill_engine::script::TcpOptionsSpec::List(list) => list
            .iter()
            .any(|o| matches!(o.value, TcpOptionSpec::AccEcn { .. })),
        _ => false,
    };
    if flags.ae || flags.ace.is_some() || option {
        vec![Feature::Accecn]
    } else {
        Vec::new()
    }
}

/// A `TCP_ACCECN...` socket option, or a `TCP_CONGESTION` value.
fn syscall_needs(args: &[netdrill_engine::script::Expr]) -> Vec<Feature> {
    let mut out = Vec::new();
    let word = |e: &netdrill_engine::script::Expr| match &e.kind {
        ExprKind::Word(w) => Some(w.clone()),
        _ => None,
    };
    if args
        .iter()
        .filter_map(word)
        .any(|w| w.starts_with("TCP_ACCECN"))
    {
        out.push(Feature::Accecn);
    }
    for pair in args.windows(2) {
        if word(&pair[0]).as_deref() == Some("TCP_CONGESTION") {
            if let ExprKind::String { parts, .. } = &pair[1].kind {
                let name = parts.concat();
                if KNOWN_CONGESTION_CONTROLS.contains(&name.as_str()) {
                    out.push(Feature::CongestionControl(name));
                }
            }
        }
    }
    out
}

/// The simple commands of a shell text: each line, split into words, cut at
/// `;`, `&&`, `||` and `|`. Text the splitter cannot read gives nothing.
fn commands(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(words) = shlex::split(line) else {
            continue;
        };
        let mut current = Vec::new();
        for word in words {
            if matches!(word.as_str(), ";" | "&&" | "||" | "|" | "&") {
                out.push(std::mem::take(&mut current));
            } else if let Some(w) = word.strip_suffix(';') {
                if !w.is_empty() {
                    current.push(w.to_string());
                }
                out.push(std::mem::take(&mut current));
            } else {
                current.push(word);
            }
        }
        out.push(current);
    }
    out.retain(|c| !c.is_empty());
    out
}

fn program(words: &[String]) -> &str {
    words
        .first()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or("")
}

/// `NAME=VALUE` settings of `sysctl` and `set_sysctls.py` in an init
/// command, names dotted (`net/ipv4/x` and `/proc/sys/net/ipv4/x` as
/// `net.ipv4.x`).
pub fn init_sysctls(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for words in commands(text) {
        if !matches!(program(&words), "sysctl" | "set_sysctls.py") {
            continue;
        }
        for arg in words.iter().skip(1).filter(|w| !w.starts_with('-')) {
            if let Some((name, value)) = arg.split_once('=') {
                let name = name.strip_prefix("/proc/sys/").unwrap_or(name);
                out.push((name.replace('/', "."), value.to_string()));
            }
        }
    }
    out
}

/// The qdisc kinds that `tc qdisc add|replace|change|link` commands install.
pub fn qdiscs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for words in commands(text) {
        if program(&words) != "tc" {
            continue;
        }
        let rest: Vec<&str> = words
            .iter()
            .skip(1)
            .map(String::as_str)
            .skip_while(|w| w.starts_with('-'))
            .collect();
        let installs = matches!(rest.first(), Some(&"qdisc" | &"qd"))
            && matches!(rest.get(1), Some(&"add" | &"replace" | &"change" | &"link"));
        if !installs {
            continue;
        }
        if let Some(kind) = rest.iter().skip(2).find(|w| KNOWN_QDISCS.contains(w)) {
            out.push(kind.to_string());
        }
    }
    out
}

/// What the probe is to look at: the features some job needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRequest {
    pub accecn: bool,
    pub qdiscs: BTreeSet<String>,
    pub congestion_controls: BTreeSet<String>,
    pub sysctls: BTreeSet<String>,
}

impl ProbeRequest {
    /// The request for jobs with these needs.
    pub fn of<'a>(needs: impl IntoIterator<Item = &'a Need>) -> ProbeRequest {
        let mut r = ProbeRequest::default();
        for need in needs {
            match &need.feature {
                Feature::Accecn => r.accecn = true,
                Feature::Qdisc(k) => {
                    r.qdiscs.insert(k.clone());
                }
                Feature::CongestionControl(c) => {
                    r.congestion_controls.insert(c.clone());
                }
                Feature::Sysctl(s) => {
                    r.sysctls.insert(s.clone());
                }
            }
        }
        r
    }

    /// Whether there is nothing to look at (then no probe runs).
    pub fn is_empty(&self) -> bool {
        *self == ProbeRequest::default()
    }
}

/// What the probe found about one feature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(flatten)]
    pub feature: Feature,
    pub present: bool,
    /// How the probe knows (`net.ipv4.tcp_ecn=3 refused: Invalid argument`).
    pub evidence: String,
}

/// What the probe found, in the scratch namespace, about the features the
/// run's scripts need. A feature with no finding (the probe could not tell)
/// is never missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelFeatures {
    pub findings: Vec<Finding>,
    /// Why the probe could not run, when it could not (then nothing is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_error: Option<String>,
}

impl KernelFeatures {
    /// The finding that `feature` is missing, if the probe made one.
    pub fn missing(&self, feature: &Feature) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| &f.feature == feature && !f.present)
    }

    /// One line for the run's header, when the probe ran: `kernel features:
    /// AccECN missing (net.ipv4.tcp_ecn=3 refused: Invalid argument); the fq
    /// qdisc missing (...); present: the pfifo qdisc, 3 sysctls`.
    pub fn summary(&self) -> Option<String> {
        if self.findings.is_empty() && self.probe_error.is_none() {
            return None;
        }
        Some(self.summary_line())
    }

    fn summary_line(&self) -> String {
        if let Some(e) = &self.probe_error {
            return format!("kernel features: not probed ({e}); no job is skipped for one");
        }
        let missing: Vec<String> = self
            .findings
            .iter()
            .filter(|f| !f.present)
            .map(|f| format!("{} missing ({})", f.feature, f.evidence))
            .collect();
        let present = |sysctl: bool| {
            self.findings
                .iter()
                .filter(|f| f.present && matches!(f.feature, Feature::Sysctl(_)) == sysctl)
                .map(|f| f.feature.to_string())
                .collect::<Vec<_>>()
        };
        let mut parts = missing;
        let mut there = present(false);
        let sysctls = present(true).len();
        if sysctls > 0 {
            there.push(format!(
                "{sysctls} sysctl{}",
                if sysctls == 1 { "" } else { "s" }
            ));
        }
        if !there.is_empty() {
            parts.push(format!("present: {}", there.join(", ")));
        }
        format!("kernel features: {}", parts.join("; "))
    }
}

/// Which failures a missing feature explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Any failure of the script: without AccECN, a qdisc or a congestion
    /// control, the kernel behaves otherwise all along.
    AnyFailure,
    /// Only the init command's failure (before the first timed event): a
    /// sysctl that is not there fails where it is set; a later failure is
    /// the script's.
    InitCommand,
}

/// Why a job's failure would be a skip, and which failures that covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    /// `kernel lacks AccECN (net.ipv4.tcp_ecn=3 refused: Invalid argument)`.
    pub reason: String,
    pub scope: Scope,
}

impl Feature {
    /// Which failures this feature, missing, explains.
    pub fn scope(&self) -> Scope {
        match self {
            Feature::Sysctl(_) => Scope::InitCommand,
            _ => Scope::AnyFailure,
        }
    }
}

/// The skip of a job whose script has `needs`, if one of them is a feature
/// the probe found missing: the first such need in script order that
/// explains any failure, else the first that explains the init command's.
pub fn unsupported_reason(needs: &[Need], kernel: &KernelFeatures) -> Option<Unsupported> {
    let missing: Vec<&Finding> = needs
        .iter()
        .filter_map(|need| kernel.missing(&need.feature))
        .collect();
    let first = missing
        .iter()
        .find(|f| f.feature.scope() == Scope::AnyFailure)
        .or_else(|| missing.first())?;
    Some(Unsupported {
        reason: format!("kernel lacks {} ({})", first.feature, first.evidence),
        scope: first.feature.scope(),
    })
}

#[cfg(test)]
mod tests;
