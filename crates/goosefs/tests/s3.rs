//! An S3 UFS end to end against a real S3-compatible server: moto's server mode (PyPI `moto[server]`),
//! with signature checking on (IAM keys), started by the test. Ignored by default because it
//! needs moto: `.ci/run` installs it and runs `cargo test -p goosefs --test s3 -- --ignored`
//! with `MOTO_SERVER` naming the `moto_server` executable (a `python` beside it sets data up).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{HBASE_CASE, Masters, eventually, http_get, stderr, stdout};

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> PathBuf {
    let path = std::env::var_os("MOTO_SERVER").map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("moto_server"))
                .find(|f| f.is_file())
        })
    });
    path.expect("this test needs moto's server: pip install 'moto[server]' and set MOTO_SERVER=<path of moto_server>")
}

/// Makes moto check signatures from now on (`enforce`), or stop checking them.
fn moto_auth(port: u16, enforce: bool) {
    use std::io::{Read, Write};
    let body = if enforce { "0" } else { "1000000" };
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("moto");
    write!(
        s,
        "POST /moto-api/reset-auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("post");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts moto with authentication enforced after the first three (IAM set-up) calls, makes a
/// user with full access, and with its keys a bucket with a few objects. Returns the keys.
fn start_moto(objects: &[(&str, &[u8])], dir: &std::path::Path) -> (Moto, String, String) {
    let server = moto_server();
    let port = free_port();
    let child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto { child, port };
    assert!(
        eventually(Duration::from_secs(20), || http_get("127.0.0.1", port, "/moto-api/")
            .is_some()),
        "moto starts"
    );
    for (name, data) in objects {
        std::fs::write(dir.join(name.replace('/', "_")), data).expect("object file");
    }
    let list: Vec<String> = objects
        .iter()
        .map(|(name, _)| {
            format!(
                "({name:?}, {:?})",
                dir.join(name.replace('/', "_")).display().to_string()
            )
        })
        .collect();
    let setup = format!(
        r#"
import boto3, json
end = "http://127.0.0.1:{port}"
iam = boto3.client("iam", endpoint_url=end, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
iam.create_user(UserName="goosefs")
iam.put_user_policy(UserName="goosefs", PolicyName="all", PolicyDocument=json.dumps(
    {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*"}}]}}))
key = iam.create_access_key(UserName="goosefs")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=end, region_name="us-east-1",
    aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket="hbase")
for name, path in [{objects}]:
    s3.put_object(Bucket="hbase", Key="stable/" + name, Body=open(path, "rb").read())
print(key["AccessKeyId"], key["SecretAccessKey"])
"#,
        objects = list.join(", ")
    );
    let python = server.with_file_name("python");
    let out = Command::new(if python.is_file() {
        python
    } else {
        PathBuf::from("python3")
    })
    .args(["-c", &setup])
    .output()
    .expect("run the moto set-up");
    assert!(
        out.status.success(),
        "moto set-up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut keys = text.split_whitespace();
    let id = keys.next().expect("key id").to_owned();
    let secret = keys.next().expect("secret").to_owned();
    (moto, id, secret)
}

#[test]
#[ignore = "needs moto's server (pip install 'moto[server]'; MOTO_SERVER=<moto_server>): .ci/run runs it"]
fn an_s3_bucket_mounts_with_keys_from_secret_env_and_reads_through_the_cache() {
    let scratch = tempfile::tempdir().expect("tmp");
    let data: Vec<u8> = (0..(3 << 20) + 77).map(|i: u32| (i % 253) as u8).collect();
    let (moto, id, secret) = start_moto(&[("data.bin", &data), ("conf/site.xml", b"<conf/>\n")], scratch.path());
    let endpoint = format!("http://127.0.0.1:{}", moto.port);

    let mut m = Masters::new(HBASE_CASE, 32, 3);
    m.extra = "-Dgoosefs.user.block.size.bytes.default=1MB".to_owned();
    m.start_all();
    m.leader(Duration::from_secs(15)).expect("a leader");
    let tier = m.dir.path().join("tier-0");
    m.start_worker("hbase-worker-0", "127.0.32.20", &tier, "");

    // The keys come as the rendered mount Job passes Secret values: environment variables.
    let mount_with = |flags: &str, path: &str, secret_value: &str| {
        let script = format!(
            "goosefs fs mount {flags} --option aws.accessKeyId={id} --option-env aws.secretKey=GOOSEFS_MOUNT_SECRET_0_0 \
             --option goosefs.underfs.s3.endpoint={endpoint} --option aws.region=us-east-1 {path} s3://hbase/stable/"
        );
        let bin = std::path::Path::new(common::BIN)
            .parent()
            .expect("bin dir")
            .display()
            .to_string();
        Command::new("sh")
            .args(["-c", &script])
            .env_clear()
            .envs(m.client_env("-Dgoosefs.user.rpc.retry.max.duration=20s"))
            .env("GOOSEFS_MOUNT_SECRET_0_0", secret_value)
            .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
            .output()
            .expect("sh")
    };
    let mount = |path: &str, secret_value: &str| mount_with("--readonly", path, secret_value);
    let out = mount("/bad", "not-the-secret-key");
    assert_eq!(out.status.code(), Some(1), "wrong keys are refused: {}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot mount s3://hbase/stable/ at /bad") && err.contains("access denied"),
        "{err}"
    );
    assert!(
        !err.contains("not-the-secret-key"),
        "the secret is never printed: {err}"
    );

    // moto computes the signature of a listing over the raw query string, while SigV4 (and
    // AWS) encode '/' in `prefix=stable/&delimiter=/`, which OpenDAL sends unescaped: so the
    // listing is done with signature checks off. Object reads are checked below with them on.
    moto_auth(moto.port, false);
    let out = mount("/s3", &secret);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&m.goosefs(&["fs", "mount"]));
    assert!(
        table.contains("aws.secretKey=******") && !table.contains(&secret),
        "{table}"
    );
    let ls = stdout(&m.goosefs(&["fs", "ls", "/s3"]));
    assert!(ls.contains("/s3/data.bin") && ls.contains("/s3/conf"), "{ls}");
    assert!(ls.contains(&data.len().to_string()), "{ls}");
    assert_eq!(stdout(&m.goosefs(&["fs", "cat", "/s3/conf/site.xml"])), "<conf/>\n");

    let out = m.goosefs(&["fs", "cat", "/s3/data.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout == data, "the object's bytes");
    let web = m.port("goosefs.worker.web.port");
    let ufs_bytes = || {
        let body = http_get("127.0.32.20", web, "/metrics").unwrap_or_default();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a counter
        let value = common::metric_value(&body, "goosefs_worker_ufs_read_bytes_total").unwrap_or(0.0) as u64;
        value
    };
    let before = ufs_bytes();
    assert_eq!(before, data.len() as u64 + 8, "each byte read from S3 once");
    assert!(m.goosefs(&["fs", "cat", "/s3/data.bin"]).stdout == data);
    assert_eq!(ufs_bytes(), before, "the second read is served from the cache");

    // With signatures checked again, the worker's signed GETs read the object anew.
    moto_auth(moto.port, true);
    assert!(m.goosefs(&["fs", "free", "/s3/data.bin"]).status.success());
    let out = m.goosefs(&["fs", "cat", "/s3/data.bin"]);
    assert!(out.stdout == data, "signed reads: {}", stderr(&out));
    assert_eq!(ufs_bytes(), before + data.len() as u64);

    // A writable mount of the bucket through an rw FUSE mount: a new file goes to S3 as a
    // multipart upload (8 MiB parts) when closed, signed (checks on while it is written), and
    // is read back through GooseFS (listings with checks off, as above).
    moto_auth(moto.port, false);
    let out = mount_with("", "/rw", &secret);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mount_point = m.dir.path().join("fuse");
    m.start_other(
        "hbase-fuse-0",
        "127.0.32.20",
        &["fuse".to_owned(), "--fuse-opts=rw,allow_other".to_owned()],
        "GOOSEFS_FUSE_JAVA_OPTS",
        "",
        &[("MOUNT_POINT", mount_point.display().to_string())],
    );
    assert!(common::eventually(Duration::from_secs(10), || mount_point
        .join("rw/data.bin")
        .exists()));
    let written: Vec<u8> = (0..(10 << 20) + 5).map(|i: u32| (i % 251) as u8).collect();
    moto_auth(moto.port, true);
    let file = std::fs::File::create(mount_point.join("rw/written.bin")).expect("create");
    std::io::Write::write_all(&mut &file, &written).expect("write");
    file.sync_all().expect("fsync stores it in S3, signed");
    moto_auth(moto.port, false);
    drop(file);
    let out = m.goosefs(&["fs", "cat", "/rw/written.bin"]);
    assert!(out.stdout == written, "in the bucket: {}", stderr(&out));
    assert!(std::fs::read(mount_point.join("rw/written.bin")).expect("read back") == written);
    assert!(
        std::fs::write(mount_point.join("s3/no.txt"), b"x").is_err(),
        "the --readonly mount of the same bucket refuses"
    );
    assert_eq!(m.stop_other("hbase-fuse-0"), Some(0));
    let log = std::fs::read_to_string(m.other_log("hbase-fuse-0")).unwrap_or_default();
    assert!(!log.contains(&secret), "FUSE logged the secret");

    // No log line of any process carries the secret.
    for i in 0..3 {
        let log = std::fs::read_to_string(m.log(i)).unwrap_or_default();
        assert!(!log.contains(&secret), "master {i} logged the secret");
    }
    let log = std::fs::read_to_string(m.other_log("hbase-worker-0")).unwrap_or_default();
    assert!(!log.contains(&secret), "the worker logged the secret");
}
