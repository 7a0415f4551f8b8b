//! One document through the checks: kind dispatch, duplicate keys, schema, typed model, rules.

use std::sync::Arc;

use super::codes::Code;
use super::diagnostic::{Diagnostic, Severity};
use super::path::{FieldPath, Segment};
use super::rules;
use super::schema::compiled;
use crate::load::{Node, NodeValue};
use crate::model::{API_GROUP, DataBackup, DataLoad, Dataset, GooseFsRuntime, Kind};

/// What a document is, for pairing runtimes with datasets across files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A `GooseFSRuntime`.
    GooseFsRuntime,
    /// Another Fluid runtime kind (`AlluxioRuntime`, `JuiceFSRuntime`, ...).
    OtherRuntime,
    /// A `Dataset`.
    Dataset,
    /// A `DataLoad` (its [`Seen::target`] names its Dataset).
    DataLoad,
    /// A `DataBackup` (its [`Seen::target`] names its Dataset).
    DataBackup,
}

/// A Fluid object seen in the input, with where its name is written.
#[derive(Debug, Clone)]
pub struct Seen {
    /// What it is.
    pub role: Role,
    /// Namespace (the default one when unset).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// A finding-ready location (the name's position).
    pub at: Diagnostic,
    /// Ports pinned by a runtime, with finding-ready locations (for cross-runtime collisions).
    pub ports: Vec<(i64, Diagnostic)>,
    /// A data operation's Dataset (namespace, name), located at `spec.dataset.name`.
    pub target: Option<(String, String, Diagnostic)>,
}

/// The findings of one document and what pairing needs to know about it.
#[derive(Debug, Default)]
pub struct DocOutcome {
    /// Findings that hold whatever else is in the input.
    pub diagnostics: Vec<Diagnostic>,
    /// GooseFS-specific Dataset findings, dropped when another runtime kind claims the Dataset.
    pub goosefs_only: Vec<Diagnostic>,
    /// The object, when it is a Fluid object with a name.
    pub seen: Option<Seen>,
    /// Whether the document was skipped (not a kind this tool checks).
    pub skipped: bool,
    /// The typed object, when asked for and the document is well-formed.
    pub typed: Option<Typed>,
}

/// A well-formed object, kept for `render`.
#[derive(Debug, Clone)]
pub enum Typed {
    /// A runtime.
    Runtime(Box<GooseFsRuntime>),
    /// A dataset.
    Dataset(Box<Dataset>),
    /// A data load.
    DataLoad(Box<DataLoad>),
    /// A data backup.
    DataBackup(Box<DataBackup>),
}

/// Context handed to checks: where findings go and how they are located.
pub struct DocCtx<'a> {
    /// File name for findings.
    pub file: &'a Arc<str>,
    /// The file's text (for snippets).
    pub text: &'a str,
    /// The document's tree.
    pub root: &'a Node,
    /// `Kind/namespace/name`.
    pub object: String,
    /// Findings so far.
    pub out: Vec<Diagnostic>,
}

impl DocCtx<'_> {
    /// Records a finding of `code` at `path` (at the key itself when `at_key`).
    pub fn report(&mut self, code: Code, path: &FieldPath, at_key: bool, message: String, help: Option<String>) {
        self.report_as(code, code.severity(), path, at_key, message, help);
    }

    /// Like [`DocCtx::report`], with an explicit severity.
    pub fn report_as(
        &mut self,
        code: Code,
        severity: Severity,
        path: &FieldPath,
        at_key: bool,
        message: String,
        help: Option<String>,
    ) {
        let pos = path.locate(self.root, at_key);
        self.out.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            severity,
            code,
            path: path.to_string(),
            object: self.object.clone(),
            message,
            help,
            source_line: snippet(self.text, pos),
        });
    }
}

/// The source line at `pos` for display, with the value of a credential-looking key replaced,
/// so that no finding prints a secret.
pub fn snippet(text: &str, pos: crate::load::Pos) -> Option<String> {
    let line = crate::load::line_text(text, pos)?;
    let body = line.trim_start().trim_start_matches("- ").trim_start();
    if let Some((key, value)) = body.split_once(':')
        && !value.trim().is_empty()
        && rules::looks_like_credential(key.trim_matches(['"', '\'', ' ']))
    {
        let cut = line.len() - value.len();
        return Some(format!("{} <redacted>", &line[..cut]));
    }
    Some(line)
}

/// Checks one document.
pub fn check(file: &Arc<str>, text: &str, root: &Node, default_namespace: &str, keep: bool) -> DocOutcome {
    let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or_default();
    let kind_name = root.get("kind").and_then(Node::as_str).unwrap_or_default();
    let metadata = root.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_owned();
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or(default_namespace)
        .to_owned();
    let object = format!("{kind_name}/{namespace}/{name}");
    let mut ctx = DocCtx {
        file,
        text,
        root,
        object,
        out: Vec::new(),
    };
    let Some(kind) = Kind::from_type(api_version, kind_name) else {
        let other_runtime = api_version.split('/').next() == Some(API_GROUP) && kind_name.ends_with("Runtime");
        let seen = (other_runtime && !name.is_empty()).then(|| Seen {
            role: Role::OtherRuntime,
            namespace,
            name,
            at: placeholder(&ctx),
            ports: Vec::new(),
            target: None,
        });
        return DocOutcome {
            seen,
            skipped: true,
            ..DocOutcome::default()
        };
    };

    duplicate_keys(root, &mut Vec::new(), &mut ctx);
    let value = root.to_json();
    let structural = compiled(kind).check(&value, &mut ctx);
    let mut goosefs_only = Vec::new();
    let mut typed = None;
    let mut pinned_ports = Vec::new();
    let mut target = None;
    if !structural {
        match kind {
            Kind::GooseFsRuntime => match serde_json::from_value::<GooseFsRuntime>(value) {
                Ok(runtime) => {
                    rules::check_runtime(&runtime, &namespace, &mut ctx);
                    for pin in runtime.port_pins() {
                        let path = rules::pin_path(&pin);
                        let pos = path.locate(root, false);
                        let mut at = placeholder(&ctx);
                        (at.line, at.column, at.path) = (pos.line, pos.column, path.to_string());
                        at.source_line = snippet(text, pos);
                        at.code = Code::GFS106;
                        at.severity = Severity::Error;
                        pinned_ports.push((pin.value, at));
                    }
                    typed = keep.then(|| Typed::Runtime(Box::new(runtime)));
                }
                Err(e) => typed_failure(&mut ctx, &e),
            },
            Kind::Dataset => match serde_json::from_value::<Dataset>(value) {
                Ok(dataset) => {
                    rules::check_dataset_common(&dataset, &namespace, &mut ctx);
                    let common = std::mem::take(&mut ctx.out);
                    rules::check_dataset_goosefs(&dataset, &mut ctx);
                    goosefs_only = std::mem::replace(&mut ctx.out, common);
                    typed = keep.then(|| Typed::Dataset(Box::new(dataset)));
                }
                Err(e) => typed_failure(&mut ctx, &e),
            },
            Kind::DataLoad => match serde_json::from_value::<DataLoad>(value) {
                Ok(load) => {
                    rules::check_dataload(&load, &mut ctx);
                    let at = finding_at(&ctx, "spec.dataset.name", Code::GFS301);
                    let dataset_namespace = (load.spec.dataset.namespace.clone())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| namespace.clone());
                    target = Some((dataset_namespace, load.spec.dataset.name.clone(), at));
                    typed = keep.then(|| Typed::DataLoad(Box::new(load)));
                }
                Err(e) => typed_failure(&mut ctx, &e),
            },
            Kind::DataBackup => match serde_json::from_value::<DataBackup>(value) {
                Ok(backup) => {
                    rules::check_databackup(&backup, &mut ctx);
                    let at = finding_at(&ctx, "spec.dataset", Code::GFS302);
                    target = Some((namespace.clone(), backup.spec.dataset.clone(), at));
                    typed = keep.then(|| Typed::DataBackup(Box::new(backup)));
                }
                Err(e) => typed_failure(&mut ctx, &e),
            },
        }
    }
    let name_path = FieldPath::parse("metadata.name");
    let seen = (!name.is_empty()).then(|| {
        let role = match kind {
            Kind::GooseFsRuntime => Role::GooseFsRuntime,
            Kind::Dataset => Role::Dataset,
            Kind::DataLoad => Role::DataLoad,
            Kind::DataBackup => Role::DataBackup,
        };
        let pos = name_path.locate(root, false);
        let mut at = placeholder(&ctx);
        at.line = pos.line;
        at.column = pos.column;
        at.path = name_path.to_string();
        at.source_line = snippet(text, pos);
        Seen {
            role,
            namespace,
            name,
            at,
            ports: pinned_ports,
            target,
        }
    });
    DocOutcome {
        diagnostics: ctx.out,
        goosefs_only,
        seen,
        skipped: false,
        typed,
    }
}

/// An error skeleton of `code` at field `path` (pairing fills in the message).
fn finding_at(ctx: &DocCtx<'_>, path: &str, code: Code) -> Diagnostic {
    let path = FieldPath::parse(path);
    let pos = path.locate(ctx.root, false);
    let mut at = placeholder(ctx);
    (at.line, at.column, at.path) = (pos.line, pos.column, path.to_string());
    at.source_line = snippet(ctx.text, pos);
    at.code = code;
    at.severity = Severity::Error;
    at
}

/// A finding skeleton at the document's start, filled in by pairing.
fn placeholder(ctx: &DocCtx<'_>) -> Diagnostic {
    Diagnostic {
        file: ctx.file.clone(),
        line: ctx.root.pos.line,
        column: ctx.root.pos.column,
        severity: Severity::Warning,
        code: Code::GFS202,
        path: String::new(),
        object: ctx.object.clone(),
        message: String::new(),
        help: None,
        source_line: None,
    }
}

/// The schema accepted the document but serde did not: a model/schema mismatch. Reported, not
/// hidden, so that it is fixed.
fn typed_failure(ctx: &mut DocCtx<'_>, error: &serde_json::Error) {
    ctx.report(
        Code::GFS002,
        &FieldPath::default(),
        false,
        format!("the object passed the schema but cannot be read: {error}"),
        Some("please report this as a bug of kubectl-goosefs".to_owned()),
    );
}

/// GFS004: every key that appears again in the same mapping, at the repeated key. The path is
/// kept as a stack and only rendered for a finding: this walk visits every node of every document.
fn duplicate_keys(node: &Node, path: &mut Vec<Segment>, ctx: &mut DocCtx<'_>) {
    match &node.value {
        NodeValue::Map(entries) => {
            for (i, (key, value)) in entries.iter().enumerate() {
                path.push(Segment::Key(key.name.clone()));
                if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.name == key.name) {
                    let pos = key.pos;
                    ctx.out.push(Diagnostic {
                        file: ctx.file.clone(),
                        line: pos.line,
                        column: pos.column,
                        severity: Code::GFS004.severity(),
                        code: Code::GFS004,
                        path: FieldPath(path.clone()).to_string(),
                        object: ctx.object.clone(),
                        message: format!(
                            "duplicate key \"{}\" (first defined at line {})",
                            key.name, first.pos.line
                        ),
                        help: Some("keep one of the two; kubectl rejects duplicate keys".to_owned()),
                        source_line: snippet(ctx.text, pos),
                    });
                }
                if matches!(value.value, NodeValue::Map(_) | NodeValue::Seq(_)) {
                    duplicate_keys(value, path, ctx);
                }
                path.pop();
            }
        }
        NodeValue::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item.value, NodeValue::Map(_) | NodeValue::Seq(_)) {
                    path.push(Segment::Index(i));
                    duplicate_keys(item, path, ctx);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}
