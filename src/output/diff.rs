//! A plan as people read it: per object a unified diff of the normalised YAML (Secret data
//! redacted to its size), the GooseFS notes, and the summary line.

use std::fmt::Write as _;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::Style;
use crate::cluster::{ChangeOp, Plan};

/// Secret values replaced by `REDACTED (N bytes)`, so a plan never prints a secret.
pub fn redact(object: &Value) -> Value {
    let mut object = object.clone();
    if object["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    let len = value.as_str().map_or(0, str::len);
                    *value = Value::String(format!("REDACTED ({len} bytes)"));
                }
            }
        }
    }
    object
}

fn yaml(object: Option<&Value>) -> String {
    object
        .map(|o| serde_saphyr::to_string(&redact(o)).unwrap_or_default())
        .unwrap_or_default()
}

/// Renders `plan`: one section per object that changes, then the summary line.
pub fn render_plan(plan: &Plan, style: Style) -> String {
    let paint = |code: &str, text: &str| match style {
        Style::Plain => text.to_owned(),
        Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
    };
    let mut out = String::new();
    // Unchanged objects are shown only when there is something to say about them.
    for change in plan
        .changes
        .iter()
        .filter(|c| c.op != ChangeOp::Unchanged || !c.notes.is_empty())
    {
        let (verb, colour) = match change.op {
            ChangeOp::Create => ("create", "32"),
            ChangeOp::Update => ("update", "33"),
            ChangeOp::Delete => ("delete", "31"),
            ChangeOp::Unchanged => ("unchanged", "0"),
        };
        let _ = writeln!(
            out,
            "{} {}",
            paint(&format!("1;{colour}"), verb),
            paint("1", &change.key.to_string())
        );
        for note in &change.notes {
            let _ = writeln!(out, "  {} {note}", paint("1;35", "note:"));
        }
        if change.op == ChangeOp::Unchanged {
            out.push('\n');
            continue;
        }
        let (before, after) = (yaml(change.before.as_ref()), yaml(change.after.as_ref()));
        if before == after {
            let _ = writeln!(out, "  (Secret values change; they are not shown)");
        }
        let diff = TextDiff::from_lines(&before, &after);
        for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
            let _ = writeln!(out, "{}", paint("36", &hunk.header().to_string()));
            for line in hunk.iter_changes() {
                let (sign, code) = match line.tag() {
                    ChangeTag::Delete => ("-", "31"),
                    ChangeTag::Insert => ("+", "32"),
                    ChangeTag::Equal => (" ", "0"),
                };
                let text = format!("{sign}{}", line.value().trim_end_matches('\n'));
                let _ = writeln!(out, "{}", if sign == " " { text } else { paint(code, &text) });
            }
        }
        out.push('\n');
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {warning}", paint("1;33", "warning:"));
    }
    // What the changes deploy costs; an unchanged runtime's cost is not news.
    for cost in plan.costs.iter().filter(|_| plan.has_changes()) {
        let _ = writeln!(out, "{} {cost}", paint("1", "cost:"));
    }
    out.push_str(&plan.summary());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::plan::{PlanOptions, plan};
    use serde_json::json;

    #[test]
    fn diffs_redact_secrets_and_end_with_the_summary() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"},
                          "data": {"key": "c2VjcmV0MQ=="}});
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"},
                             "data": {"key": "c2VjcmV0MjI="}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}, "data": {"a": "1"}});
        let p = plan(&[desired, cm], &[live], PlanOptions::default()).unwrap_or_default();
        let text = render_plan(&p, Style::Plain);
        assert!(!text.contains("c2VjcmV0"), "{text}");
        assert!(
            text.contains("update Secret/d/s\n  (Secret values change; they are not shown)\n"),
            "{text}"
        );
        assert!(text.contains("create ConfigMap/d/c"));
        assert!(text.contains("+data:"));
        assert!(
            text.ends_with("Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged.\n"),
            "{text}"
        );
    }
}
