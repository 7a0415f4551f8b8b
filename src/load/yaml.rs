//! The YAML reader: builds [`Node`] trees straight from the parser's events (granit-parser, the
//! parser under serde-saphyr, re-exported by it), one document at a time.
//!
//! Building the tree ourselves keeps every key's and value's position, resolves plain scalars
//! exactly as kubectl's YAML library (go-yaml v2, YAML 1.1) does, keeps duplicate keys for
//! reporting, and enforces the safety limits (nesting depth, alias expansion) without
//! recursion, so no input can exhaust the stack. It is also about twice as fast as going
//! through serde with spans.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Tag};

use super::ParseFailure;
use super::node::{Key, Node, NodeValue, Pos};

/// Deepest nesting accepted (Kubernetes objects stay far below: a pod template is about 12).
pub const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may add to one document (against "billion laughs").
pub const MAX_ALIAS_NODES: usize = 100_000;

fn pos(m: &Marker) -> Pos {
    Pos {
        line: m.line().max(1) as u64,
        column: m.col() as u64 + 1,
        offset: m.byte_offset().map(|b| b as u64),
    }
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pos: Pos,
        anchor: usize,
        key: Option<Key>,
    },
}

/// An anchored node, with what an alias to it costs.
struct Anchored {
    node: Node,
    nodes: usize,
    depth: usize,
}

/// Streams the documents of `text` to `each`; empty documents are skipped. Returns the first syntax error or limit breach; documents before it were delivered.
pub fn documents(text: &str, mut each: impl FnMut(Node)) -> Option<ParseFailure> {
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.emit_comments = false;
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Anchored> = HashMap::new();
    let mut alias_nodes = 0usize;
    let mut root: Option<Node> = None;
    while let Some(item) = parser.next_event() {
        let (event, span) = match item {
            Ok(ok) => ok,
            Err(e) => {
                return Some(ParseFailure {
                    pos: pos(e.marker()),
                    message: e.info().to_string(),
                    limit: false,
                });
            }
        };
        let at = pos(&span.start);
        let node = match event {
            Event::DocumentStart(..) => {
                anchors.clear();
                alias_nodes = 0;
                root = None;
                continue;
            }
            Event::DocumentEnd => {
                if let Some(node) = root.take()
                    && node.value != NodeValue::Null
                {
                    each(node);
                }
                continue;
            }
            Event::UnresolvedAlias(name) => {
                return Some(ParseFailure {
                    pos: at,
                    message: format!("unknown alias *{name}"),
                    limit: false,
                });
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) if stack.len() >= MAX_DEPTH => {
                let _ = anchor;
                return Some(ParseFailure {
                    pos: at,
                    message: format!("document nests deeper than {MAX_DEPTH} levels; parsing stopped"),
                    limit: true,
                });
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    pos: at,
                    anchor,
                });
                continue;
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    pos: at,
                    anchor,
                    key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Seq { items, pos, anchor }) => (
                        Node {
                            value: NodeValue::Seq(items),
                            pos,
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        entries, pos, anchor, ..
                    }) => (
                        Node {
                            value: NodeValue::Map(merge_keys(entries)),
                            pos,
                        },
                        anchor,
                    ),
                    None => continue,
                };
                remember(&mut anchors, anchor, &node);
                node
            }
            Event::Scalar(text, style, anchor, tag) => {
                // Keys keep their text as written (`y:` stays "y", `0x10:` stays "0x10").
                if let (Some(Frame::Map { key: key @ None, .. }), None) = (stack.last_mut(), tag.as_deref())
                    && anchor == 0
                {
                    *key = Some(Key {
                        name: text.into_owned(),
                        pos: at,
                    });
                    continue;
                }
                let node = Node {
                    value: resolve(&text, style, tag.as_deref()),
                    pos: at,
                };
                remember(&mut anchors, anchor, &node);
                node
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Some(ParseFailure {
                        pos: at,
                        message: "alias to an unknown anchor".into(),
                        limit: false,
                    });
                };
                alias_nodes += target.nodes;
                if alias_nodes > MAX_ALIAS_NODES {
                    return Some(ParseFailure {
                        pos: at,
                        message: format!(
                            "YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); parsing stopped"
                        ),
                        limit: true,
                    });
                }
                if stack.len() + target.depth > MAX_DEPTH {
                    return Some(ParseFailure {
                        pos: at,
                        message: format!("document nests deeper than {MAX_DEPTH} levels; parsing stopped"),
                        limit: true,
                    });
                }
                let mut node = target.node.clone();
                node.pos = at;
                node
            }
            // Stream markers, comments, anchor metadata: no node.
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => match key_text(&node) {
                    Some(name) => *key = Some(Key { name, pos: node.pos }),
                    None => {
                        return Some(ParseFailure {
                            pos: node.pos,
                            message: "a mapping key must be a scalar (Kubernetes objects have string keys)".into(),
                            limit: false,
                        });
                    }
                },
            },
        }
    }
    None
}

fn remember(anchors: &mut HashMap<usize, Anchored>, anchor: usize, node: &Node) {
    if anchor != 0 {
        let (nodes, depth) = measure(node);
        anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                nodes,
                depth,
            },
        );
    }
}

/// Node count and depth of a tree (iterative).
fn measure(node: &Node) -> (usize, usize) {
    let mut count = 0;
    let mut deepest = 0;
    let mut todo = vec![(node, 1usize)];
    while let Some((n, depth)) = todo.pop() {
        count += 1;
        deepest = deepest.max(depth);
        match &n.value {
            NodeValue::Seq(items) => todo.extend(items.iter().map(|i| (i, depth + 1))),
            NodeValue::Map(entries) => todo.extend(entries.iter().map(|(_, v)| (v, depth + 1))),
            _ => {}
        }
    }
    (count, deepest)
}

/// Applies YAML merge keys (`<<: *base`): entries of the merged mappings are added where the
/// mapping does not set them itself, as go-yaml does.
fn merge_keys(entries: Vec<(Key, Node)>) -> Vec<(Key, Node)> {
    if !entries.iter().any(|(k, _)| k.name == "<<") {
        return entries;
    }
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for (key, value) in entries {
        if key.name != "<<" {
            own.push((key, value));
            continue;
        }
        let sources = match value.value {
            NodeValue::Seq(items) => items,
            other => vec![Node {
                value: other,
                pos: value.pos,
            }],
        };
        for source in sources {
            if let NodeValue::Map(inner) = source.value {
                merged.extend(inner);
            } else {
                own.push((key.clone(), source));
            }
        }
    }
    for (key, value) in merged {
        if !own.iter().any(|(k, _)| k.name == key.name) {
            own.push((key, value));
        }
    }
    own
}

/// The text of a key given by an alias or a tag: scalars are stringified.
fn key_text(node: &Node) -> Option<String> {
    Some(match &node.value {
        NodeValue::Str(s) => s.clone(),
        NodeValue::Bool(b) => b.to_string(),
        NodeValue::Int(i) => i.to_string(),
        NodeValue::UInt(u) => u.to_string(),
        NodeValue::Float(f) => f.to_string(),
        NodeValue::Null => "null".to_owned(),
        NodeValue::Seq(_) | NodeValue::Map(_) => return None,
    })
}

/// Resolves a scalar as go-yaml v2 does: quoted and block scalars are strings; plain scalars
/// are null, booleans (`yes`/`no`/`on`/`off`/`y`/`n`...), integers (decimal, `0x`, `0b`, `0`-octal,
/// `_` separators), floats, or strings. Core-schema tags (`!!str`, `!!int`...) are honoured.
pub fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> NodeValue {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        match tag.suffix() {
            "str" | "binary" => return NodeValue::Str(text.to_owned()),
            "null" => return NodeValue::Null,
            _ => return resolve_plain(text),
        }
    }
    if style != ScalarStyle::Plain {
        return NodeValue::Str(text.to_owned());
    }
    resolve_plain(text)
}

/// Resolves a plain (unquoted, untagged) scalar.
pub fn resolve_plain(text: &str) -> NodeValue {
    resolve_non_string(text).unwrap_or_else(|| NodeValue::Str(text.to_owned()))
}

/// What a plain scalar is when it is not a string (null, boolean, number); `None` for a string.
/// Allocates nothing, so writers can ask whether a string may be written unquoted.
pub fn resolve_non_string(text: &str) -> Option<NodeValue> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeValue::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Some(NodeValue::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Some(NodeValue::Bool(false));
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(NodeValue::Float(f64::INFINITY)),
        "-.inf" | "-.Inf" | "-.INF" => return Some(NodeValue::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(NodeValue::Float(f64::NAN)),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if let Some(int) = parse_int(text) {
        return Some(int);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Some(NodeValue::Float(f));
    }
    None
}

fn parse_int(text: &str) -> Option<NodeValue> {
    let plain: std::borrow::Cow<'_, str> = if text.contains('_') {
        text.chars().filter(|&c| c != '_').collect::<String>().into()
    } else {
        text.into()
    };
    let (negative, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, &plain[..]),
    };
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        (2, bin)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok();
    match (negative, magnitude) {
        (false, Some(m)) => Some(i64::try_from(m).map_or(NodeValue::UInt(m), NodeValue::Int)),
        (true, Some(m)) if m <= i64::MAX as u64 + 1 => Some(NodeValue::Int((m as i128).wrapping_neg() as i64)),
        _ => body
            .parse::<f64>()
            .ok()
            .map(|f| NodeValue::Float(if negative { -f } else { f })),
    }
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() && !frac.is_empty() || !int.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> NodeValue {
        resolve(s, ScalarStyle::Plain, None)
    }

    #[test]
    fn yaml_1_1_scalars_like_kubectl() {
        assert_eq!(plain("yes"), NodeValue::Bool(true));
        assert_eq!(plain("Off"), NodeValue::Bool(false));
        assert_eq!(plain("y"), NodeValue::Bool(true));
        assert_eq!(plain("0.8"), NodeValue::Float(0.8));
        assert_eq!(plain(".5"), NodeValue::Float(0.5));
        assert_eq!(plain("1e3"), NodeValue::Float(1000.0));
        assert_eq!(plain("0644"), NodeValue::Int(420));
        assert_eq!(plain("0x1F"), NodeValue::Int(31));
        assert_eq!(plain("1_000"), NodeValue::Int(1000));
        assert_eq!(plain("-3"), NodeValue::Int(-3));
        assert_eq!(plain("~"), NodeValue::Null);
        assert_eq!(plain("2G"), NodeValue::Str("2G".into()));
        assert_eq!(plain("1.2.3"), NodeValue::Str("1.2.3".into()));
        assert_eq!(plain("0.8.1"), NodeValue::Str("0.8.1".into()));
        assert_eq!(plain("-"), NodeValue::Str("-".into()));
        assert_eq!(
            resolve("yes", ScalarStyle::DoubleQuoted, None),
            NodeValue::Str("yes".into())
        );
        assert_eq!(plain("18446744073709551615"), NodeValue::UInt(u64::MAX));
    }

    fn docs(text: &str) -> (Vec<Node>, Option<ParseFailure>) {
        let mut out = Vec::new();
        let err = documents(text, |n| out.push(n));
        (out, err)
    }

    #[test]
    fn positions_duplicates_and_documents() {
        let (d, err) = docs("a: 1\nb:\n  c: [x, y]\n  c: z\n---\n---\nk: v\n");
        assert!(err.is_none());
        assert_eq!(d.len(), 2);
        let b = d[0].get("b").map(|n| n.pos);
        assert_eq!(b.map(|p| (p.line, p.column)), Some((3, 3)));
        match &d[0].get("b").map(|n| &n.value) {
            Some(NodeValue::Map(entries)) => assert_eq!(entries.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(d[0].key("a").map(|k| (k.pos.line, k.pos.column)), Some((1, 1)));
    }

    #[test]
    fn aliases_merges_and_limits() {
        let (d, _) = docs("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n");
        let used = d[0].get("use").map(Node::to_json);
        assert_eq!(used, Some(serde_json::json!({"y": 3, "x": 1})));
        let bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
        let (_, err) = docs(bomb);
        assert!(err.is_some_and(|e| e.limit));
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let (_, err) = docs(&deep);
        assert!(err.is_some_and(|e| e.limit));
        let (_, err) = docs("? [a]\n: b\n");
        assert!(err.is_some_and(|e| !e.limit));
    }
}
