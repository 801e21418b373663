//! Property tests for the script front end: random bytes, random token soups
//! and mutated corpus scripts must never make the parser panic or hang, its
//! diagnostics must stay small, and whatever parses must survive
//! `parse(print(ast)) == ast`.
//!
//! Longer runs: `PROPTEST_CASES=20000 cargo test --release -p netdrill-engine --test parse_fuzz`.

use netdrill_engine::script::{parse, print, Script};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Pieces of script text: tokens of every kind, some malformed, plus glue.
const FRAGMENTS: &[&str] = &[
    "0",
    "+0",
    "+.1",
    "1.5",
    "*",
    "~",
    "+0~+1",
    "...",
    "<",
    ">",
    "S",
    "S.",
    ".",
    "-",
    "P.",
    "F.",
    "R",
    "SEW",
    "S.5",
    "E",
    "W",
    "A",
    "0:0(0)",
    "1:1001(1000)",
    "ack",
    "1",
    "win",
    "65535",
    "urg",
    "<",
    "mss 1460",
    "nop",
    "eol",
    "sackOK",
    "sack 1:2",
    "TS val 1 ecr 0",
    "wscale 7",
    "md5 00112233",
    "FO",
    "FO abcd",
    "FOEXP 0011",
    "ECN e0b 1 ceb 2 e1b 3",
    "ECN e1b 1",
    ",",
    "<...>",
    "[ect0]",
    "[ce]",
    "(noecn)",
    "[ect01]",
    "[tos 0x10]",
    "[flowlabel 0x1]",
    "[ttl 5]",
    "[ect0, flowlabel 0x12]",
    "udp",
    "(10)",
    "icmp",
    "unreachable",
    "frag_needed",
    "mtu 1200",
    "id 3",
    "[1:1(0)]",
    "[udp (8)]",
    "[raw (4)]",
    "ipv4",
    "192.0.2.1",
    "ipv6",
    "2001:db8::1",
    "fe80::1",
    ":",
    "gre",
    "gre flags [checksum present, key present] sum 1 off 2 key 3 seq 4",
    "mpls (label 1, tc 0, [S], ttl 64)",
    "encap psp spi 5",
    "8080>9090",
    "socket",
    "(",
    ")",
    "= 3",
    "= -1 EAGAIN (Resource temporarily unavailable)",
    "(note words)",
    "SOCK_STREAM",
    "IPPROTO_TCP",
    "AF_INET",
    "O_RDWR|O_NONBLOCK",
    "[1]",
    "[]",
    "{",
    "}",
    "\"reno\"",
    "\"a\" \"b\"",
    "\"x\"...",
    "0x10",
    "-1",
    "X=1",
    "{..., 100}",
    "{msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0}",
    "{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=0, ee_origin=1, ee_type=0, \
     ee_code=0, ee_info=0, ee_data=0}}",
    "{scm_sec=0, scm_nsec=1}",
    "{fd=3, events=POLLIN, revents=0}",
    "{events=EPOLLIN, fd=3}",
    "{events=0, u64=1}",
    "{onoff=1, linger=0}",
    "{(label 1, tc 1, ttl 1)}",
    "{}",
    "{flags 0x2000 sum 0 off 0 key 1 seq 2}",
    "inet_addr(\"1.2.3.4\")",
    "inet6_addr(\"::1\")",
    "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"1.2.3.4\")}",
    "`echo hi`",
    "%{ print(1) }%",
    "--tolerance_usecs=10000",
    "--define=X=Y",
    "--dry_run",
    "// c\n",
    "/* c */",
    "\n",
    " ",
    "\t",
    "\"",
    "`",
    "%{",
    "/*",
    "#",
    "\r",
    "é",
    "\u{0}",
    "99999999999999999999",
    "0x1ffffffffffffffff",
    "sequence#",
    "Flags",
    "GREv0",
];

fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = std::env::var_os("NETDRILL_CORPUS")
            .map(PathBuf::from)
            .or_else(|| {
                let m = Path::new(env!("CARGO_MANIFEST_DIR"));
                [
                    m.join("../../shared/corpus"),
                    m.join("../../../shared/corpus"),
                ]
                .into_iter()
                .find(|p| p.is_dir())
            })
            .expect("corpus (set NETDRILL_CORPUS to shared/corpus)");
        let mut out = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "pkt") {
                    out.push(std::fs::read(&p).unwrap());
                }
            }
        }
        out.sort();
        assert!(out.len() > 100, "corpus too small");
        out
    })
}

/// Parse, check the invariants, and return the AST if there is one.
fn check(src: &[u8]) -> Result<Option<Script>, TestCaseError> {
    let start = Instant::now();
    let result = parse(src, &[]);
    let took = start.elapsed();
    // Generous for unoptimized builds on a slow machine; linear time keeps this far away.
    prop_assert!(took < Duration::from_secs(5), "parse took {took:?}");
    match result {
        Err(f) => {
            let d = f.diagnostic;
            prop_assert!(d.message.len() <= 600, "long message: {}", d.message);
            prop_assert!(d.span.line >= 1 && d.span.col >= 1, "{:?}", d.span);
            prop_assert!(d.span.start <= src.len() && d.span.end <= src.len());
            let lines = src.split(|&b| b == b'\n').count() as u32;
            prop_assert!(d.span.line <= lines, "line {} of {lines}", d.span.line);
            let rendered = d.render("f.pkt", src);
            let longest_line = src
                .split(|&b| b == b'\n')
                .map(<[u8]>::len)
                .max()
                .unwrap_or(0);
            prop_assert!(rendered.len() <= 800 + 8 * longest_line);
            Ok(None)
        }
        Ok(ast) => {
            let text = print(&ast);
            let again = parse(text.as_bytes(), &[]);
            let again = match again {
                Ok(a) => a,
                Err(e) => {
                    return Err(TestCaseError::fail(format!(
                        "printed text does not parse: {e}\n{text}"
                    )))
                }
            };
            prop_assert_eq!(&again, &ast, "round trip of:\n{}", text);
            Ok(Some(ast))
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: Vec<u8> },
    Duplicate { at: usize, len: usize },
    Replace { at: usize, byte: u8 },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(at, f)| Mutation::Insert {
            at,
            text: f.as_bytes().to_vec()
        }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), 1usize..200).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(src: &mut Vec<u8>, m: &Mutation) {
    let n = src.len();
    let pos = |at: usize| if n == 0 { 0 } else { at % (n + 1) };
    match m {
        Mutation::Delete { at, len } => {
            let a = pos(*at);
            let b = (a + len).min(n);
            src.drain(a..b);
        }
        Mutation::Insert { at, text } => {
            let a = pos(*at);
            src.splice(a..a, text.iter().copied());
        }
        Mutation::Duplicate { at, len } => {
            let a = pos(*at);
            let b = (a + len).min(n);
            let piece = src[a..b].to_vec();
            src.splice(b..b, piece);
        }
        Mutation::Replace { at, byte } => {
            if n > 0 {
                src[at % n] = *byte;
            }
        }
        Mutation::Truncate { at } => src.truncate(pos(*at)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(src in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&src)?;
    }

    #[test]
    fn random_token_soup(parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60),
                         seps in prop::collection::vec(prop::sample::select(&[" ", "", "\n", ", "][..]), 60)) {
        let mut src = String::new();
        for (i, p) in parts.iter().enumerate() {
            src.push_str(p);
            src.push_str(seps[i % seps.len()]);
        }
        check(src.as_bytes())?;
    }

    #[test]
    fn mutated_corpus_scripts(index in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let scripts = corpus();
        let mut src = scripts[index % scripts.len()].clone();
        for m in &mutations {
            apply(&mut src, m);
        }
        check(&src)?;
    }

    #[test]
    fn timed_events_round_trip(times in prop::collection::vec((0u32..3_000_000, any::<bool>()), 1..20)) {
        // Every time form: absolute, relative, ranges, floats with any microseconds.
        let mut src = String::from("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n");
        for (i, (us, rel)) in times.iter().enumerate() {
            let t = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
            let line = match (i % 3, rel) {
                (0, true) => format!("+{t} close(3) = 0\n"),
                (0, false) => format!("{t} close(3) = 0\n"),
                (1, true) => format!("+{t}~+{t}9 > . 1:1(0) ack 1\n"),
                (1, false) => format!("{t}~{t}9 > . 1:1(0) ack 1\n"),
                _ => format!("+{t}...{t} accept(3, ..., ...) = 4\n"),
            };
            src.push_str(&line);
        }
        let ast = check(src.as_bytes())?;
        prop_assert!(ast.is_some(), "valid script rejected:\n{}", src);
    }
}
