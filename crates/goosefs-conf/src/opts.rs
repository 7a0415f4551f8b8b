//! `-D` option strings as a GooseFS container gets them: the ConfigMap's `GOOSEFS_*_JAVA_OPTS`
//! environment variables, expanded and split as the launcher shell does
//! (`java $GOOSEFS_JAVA_OPTS $GOOSEFS_MASTER_JAVA_OPTS ...`), then read with the JVM's rules:
//! every `-Dkey=value` sets a property and a later one wins; JVM flags (`-Xmx16G`, `-XX:...`) are
//! accepted and ignored.

use std::collections::BTreeMap;

use crate::duration::{self, Interval};
use crate::journal::{self, Address};
use crate::ports::PortRole;
use crate::size;

/// Which process reads the options: decides which environment variables count, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `master-only`.
    Master,
    /// `job-master`.
    JobMaster,
    /// `worker-only`.
    Worker,
    /// `job-worker`.
    JobWorker,
    /// `proxy` (the API gateway).
    Proxy,
    /// `fuse`.
    Fuse,
    /// `fs`, `fsadmin` and other client commands.
    Client,
}

impl Role {
    /// The environment variables this role reads, common ones first: a later `-D` wins.
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            Role::Master => &["GOOSEFS_JAVA_OPTS", "GOOSEFS_MASTER_JAVA_OPTS"],
            Role::JobMaster => &["GOOSEFS_JAVA_OPTS", "GOOSEFS_JOB_MASTER_JAVA_OPTS"],
            Role::Worker => &["GOOSEFS_JAVA_OPTS", "GOOSEFS_WORKER_JAVA_OPTS"],
            Role::JobWorker => &["GOOSEFS_JAVA_OPTS", "GOOSEFS_JOB_WORKER_JAVA_OPTS"],
            Role::Proxy => &["GOOSEFS_JAVA_OPTS", "GOOSEFS_PROXY_JAVA_OPTS"],
            Role::Fuse => &[
                "GOOSEFS_JAVA_OPTS",
                "GOOSEFS_FUSE_JAVA_OPTS",
                "GOOSEFS_CLIENT_JAVA_OPTS",
            ],
            Role::Client => &["GOOSEFS_JAVA_OPTS", "GOOSEFS_USER_JAVA_OPTS"],
        }
    }
}

/// Expands `${NAME}` and `$NAME` as a shell expands an unquoted variable's text; an unset
/// variable expands to nothing. Anything else, `$` included, stays as it is.
pub fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let is_name_start = |c: char| c.is_ascii_alphabetic() || c == '_';
        let name_len = |s: &str| {
            s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len())
        };
        if let Some(braced) = after.strip_prefix('{')
            && let Some(end) = braced.find('}')
            && braced[..end].starts_with(is_name_start)
            && name_len(&braced[..end]) == end
        {
            out.push_str(&env(&braced[..end]).unwrap_or_default());
            rest = &braced[end + 1..];
        } else if after.starts_with(is_name_start) {
            let len = name_len(after);
            out.push_str(&env(&after[..len]).unwrap_or_default());
            rest = &after[len..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// What an option string held besides properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// `-Dkey=value`, later ones winning.
    pub properties: BTreeMap<String, String>,
    /// JVM flags, accepted and ignored (`-Xmx16G`, `-XX:+UseG1GC`, `-server`).
    pub jvm_flags: Vec<String>,
    /// Words that are neither (reported, then ignored, as the JVM would refuse them).
    pub unknown: Vec<String>,
}

/// Whether `word` is a flag the JVM itself takes.
fn is_jvm_flag(word: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "-X",
        "-ea",
        "-da",
        "-esa",
        "-dsa",
        "-verbose",
        "-javaagent:",
        "-agentlib:",
        "-agentpath:",
    ];
    PREFIXES.iter().any(|p| word.starts_with(p)) || matches!(word, "-server" | "-client" | "-d64")
}

/// Reads the words of already-expanded option strings into `parsed` (later words win).
pub fn parse_into(text: &str, parsed: &mut Parsed) {
    for word in text.split_ascii_whitespace() {
        if let Some(property) = word.strip_prefix("-D") {
            let (key, value) = property.split_once('=').unwrap_or((property, ""));
            if !key.is_empty() {
                parsed.properties.insert(key.to_owned(), value.to_owned());
                continue;
            }
        }
        if is_jvm_flag(word) {
            parsed.jvm_flags.push(word.to_owned());
        } else {
            parsed.unknown.push(word.to_owned());
        }
    }
}

/// A process's configuration: the properties its role reads, with typed getters that fall back
/// to GooseFS's defaults and say which property was wrong when one does not parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conf {
    /// Every property, unknown `goosefs.*` ones included (kept, as GooseFS keeps them).
    pub properties: BTreeMap<String, String>,
    /// JVM flags seen and ignored.
    pub jvm_flags: Vec<String>,
    /// Words that were neither properties nor JVM flags.
    pub unknown: Vec<String>,
}

/// A property that is set but wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property {key}={value:?}: {reason}")]
pub struct ConfError {
    /// Key.
    pub key: String,
    /// Value as set.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl Conf {
    /// The configuration `role` gets from the environment `env`, plus `extra` `-D` options (a
    /// command line's), which come last and so win.
    pub fn from_env(role: Role, env: &dyn Fn(&str) -> Option<String>, extra: &[String]) -> Conf {
        let mut parsed = Parsed::default();
        for var in role.env_vars() {
            if let Some(text) = env(var) {
                parse_into(&expand(&text, env), &mut parsed);
            }
        }
        for word in extra {
            parse_into(&expand(word, env), &mut parsed);
        }
        Conf {
            properties: parsed.properties,
            jvm_flags: parsed.jvm_flags,
            unknown: parsed.unknown,
        }
    }

    /// The configuration of these properties alone.
    pub fn from_properties<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Conf {
        Conf {
            properties: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            ..Conf::default()
        }
    }

    /// Sets `key` (as a later `-D` would).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.properties.insert(key.to_owned(), value.into());
    }

    /// The raw value, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The value, or `default`.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    fn error(&self, key: &str, reason: impl Into<String>) -> ConfError {
        ConfError {
            key: key.to_owned(),
            value: self.properties.get(key).cloned().unwrap_or_default(),
            reason: reason.into(),
        }
    }

    /// A port: the property of `role`, else the chart's default.
    ///
    /// # Errors
    /// [`ConfError`] when set to something that is not 1-65535.
    pub fn port(&self, role: PortRole) -> Result<u16, ConfError> {
        match self.get(role.property()) {
            None => Ok(role.default_port()),
            Some(text) => text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| self.error(role.property(), "not a port number (1-65535)")),
        }
    }

    /// A byte size in GooseFS units.
    ///
    /// # Errors
    /// [`ConfError`] when set to something that is not a size.
    pub fn bytes(&self, key: &str, default: u64) -> Result<u64, ConfError> {
        self.get(key).map_or(Ok(default), |text| {
            size::parse(text).map_err(|e| self.error(key, e.to_string()))
        })
    }

    /// A duration.
    ///
    /// # Errors
    /// [`ConfError`] when set to something that is not a duration.
    pub fn interval(&self, key: &str, default: Interval) -> Result<Interval, ConfError> {
        self.get(key).map_or(Ok(default), |text| {
            duration::parse(text).map_err(|e| self.error(key, e.to_string()))
        })
    }

    /// A timeout or period: `default` unless set to a positive length (`-1` and `0` keep the
    /// default: a timeout of nothing means the default one).
    ///
    /// # Errors
    /// [`ConfError`] when set to something that is not a duration.
    pub fn period(&self, key: &str, default: std::time::Duration) -> Result<std::time::Duration, ConfError> {
        Ok(match self.interval(key, Interval::After(default))? {
            Interval::After(d) if !d.is_zero() => d,
            _ => default,
        })
    }

    /// A boolean (`true`/`false`, any case).
    ///
    /// # Errors
    /// [`ConfError`] when set to something else.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, ConfError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(self.error(key, "not true or false")),
        }
    }

    /// An integer.
    ///
    /// # Errors
    /// [`ConfError`] when set to something that is not one.
    pub fn integer(&self, key: &str, default: i64) -> Result<i64, ConfError> {
        self.get(key).map_or(Ok(default), |text| {
            text.trim().parse().map_err(|_| self.error(key, "not an integer"))
        })
    }

    /// A list of `host:port` addresses.
    ///
    /// # Errors
    /// [`ConfError`] when set to something that is not such a list.
    pub fn addresses(&self, key: &str) -> Result<Option<Vec<Address>>, ConfError> {
        self.get(key)
            .map(|text| journal::parse_list(text).map_err(|e| self.error(key, e.to_string())))
            .transpose()
    }

    /// Properties under `goosefs.` that this crate's readers do not know: GooseFS keeps them, and
    /// the runtime logs them at debug level.
    pub fn unknown_goosefs_keys<'a>(&'a self, known: &'a dyn Fn(&str) -> bool) -> impl Iterator<Item = &'a str> + 'a {
        self.properties
            .keys()
            .map(String::as_str)
            .filter(move |k| k.starts_with("goosefs.") && !known(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn periods_keep_their_default_unless_set_to_a_positive_length() {
        use std::time::Duration;
        let conf = Conf::from_properties([("a", "30sec"), ("b", "-1"), ("c", "0"), ("d", "soon")]);
        let default = Duration::from_secs(5);
        assert_eq!(conf.period("a", default), Ok(Duration::from_secs(30)));
        assert_eq!(conf.period("b", default), Ok(default));
        assert_eq!(conf.period("c", default), Ok(default));
        assert_eq!(conf.period("unset", default), Ok(default));
        assert!(conf.period("d", default).is_err());
    }

    #[test]
    fn expands_like_the_launcher_shell() {
        let e = env(&[("GOOSEFS_MASTER_HOSTNAME", "hbase-master-1"), ("A", "x y")]);
        assert_eq!(
            expand("-Dgoosefs.master.hostname=${GOOSEFS_MASTER_HOSTNAME} ", &e),
            "-Dgoosefs.master.hostname=hbase-master-1 "
        );
        assert_eq!(expand("$A-$B.${A}", &e), "x y-.x y");
        assert_eq!(expand("cost $5 ${} ${1x} $", &e), "cost $5 ${} ${1x} $");
        assert_eq!(expand("${UNSET}", &e), "");
    }

    #[test]
    fn role_options_come_after_the_common_ones_and_later_wins() {
        let e = env(&[
            (
                "GOOSEFS_JAVA_OPTS",
                "-Dgoosefs.master.hostname=hbase-master-0 -Dgoosefs.master.journal.type=EMBEDDED -Xmx16G -Dgoosefs.master.journal.type=UFS ",
            ),
            (
                "GOOSEFS_MASTER_JAVA_OPTS",
                "-Dgoosefs.master.hostname=${GOOSEFS_MASTER_HOSTNAME} -XX:+UnlockExperimentalVMOptions ",
            ),
            ("GOOSEFS_WORKER_JAVA_OPTS", "-Dgoosefs.worker.rpc.port=26002 "),
            ("GOOSEFS_MASTER_HOSTNAME", "10.0.0.7"),
        ]);
        let master = Conf::from_env(Role::Master, &e, &[]);
        assert_eq!(master.get("goosefs.master.hostname"), Some("10.0.0.7"));
        assert_eq!(master.get("goosefs.master.journal.type"), Some("UFS"));
        assert_eq!(
            master.get("goosefs.worker.rpc.port"),
            None,
            "worker options are not the master's"
        );
        assert_eq!(master.jvm_flags, ["-Xmx16G", "-XX:+UnlockExperimentalVMOptions"]);
        let client = Conf::from_env(Role::Client, &e, &["-Dgoosefs.master.hostname=cli".to_owned()]);
        assert_eq!(client.get("goosefs.master.hostname"), Some("cli"));
    }

    #[test]
    fn typed_getters_default_and_name_the_bad_property() {
        let conf = Conf::from_properties([
            ("goosefs.master.rpc.port", "26000"),
            ("goosefs.master.web.port", "http"),
            ("goosefs.user.block.size.bytes.default", "256MB"),
            ("goosefs.user.file.metadata.sync.interval", "-1"),
            ("goosefs.fuse.jnifuse.enabled", "TRUE"),
            ("goosefs.unknown", "1"),
        ]);
        assert_eq!(conf.port(PortRole::MasterRpc), Ok(26000));
        assert_eq!(conf.port(PortRole::WorkerRpc), Ok(29999));
        let err = conf
            .port(PortRole::MasterWeb)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            "property goosefs.master.web.port=\"http\": not a port number (1-65535)"
        );
        assert_eq!(conf.bytes("goosefs.user.block.size.bytes.default", 0), Ok(256 << 20));
        assert_eq!(
            conf.interval(
                "goosefs.user.file.metadata.sync.interval",
                Interval::After(std::time::Duration::ZERO)
            ),
            Ok(Interval::Never)
        );
        assert_eq!(conf.flag("goosefs.fuse.jnifuse.enabled", false), Ok(true));
        let known = |k: &str| k.contains("port") || k.contains("block") || k.contains("sync") || k.contains("fuse");
        assert_eq!(
            conf.unknown_goosefs_keys(&known).collect::<Vec<_>>(),
            ["goosefs.unknown"]
        );
    }

    #[test]
    fn words_that_are_neither_are_kept_apart() {
        let mut parsed = Parsed::default();
        parse_into("-D=x -Dk -Dk2=a=b stray -server", &mut parsed);
        assert_eq!(parsed.properties.get("k").map(String::as_str), Some(""));
        assert_eq!(parsed.properties.get("k2").map(String::as_str), Some("a=b"));
        assert_eq!(parsed.unknown, ["-D=x", "stray"]);
        assert_eq!(parsed.jvm_flags, ["-server"]);
    }
}
