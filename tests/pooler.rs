//! Through a transaction-mode pooler, as Supabase runs one: each transaction
//! may land on another server connection. With `--transaction-pooler`, two
//! runners share two server connections and still store everything once.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::{as_postgres, free_port, scratch_dir};
use common::consistency::assert_consistent;
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use sqlx::PgPool;

struct PgBouncer {
    dir: PathBuf,
    port: u16,
}

impl PgBouncer {
    /// PgBouncer in transaction mode in front of the server in DATABASE_URL.
    fn start(server_port: u16) -> PgBouncer {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("pgbouncer is installed (scripts/test.sh installs it)");
        let dir = scratch_dir("backfill-test-pgbouncer");
        let port = free_port();
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={server_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
             unix_socket_dir =\nauth_type = trust\nauth_file = {d}/users.txt\npool_mode = transaction\n\
             default_pool_size = 2\nmax_client_conn = 50\nignore_startup_parameters = extra_float_digits,options\n\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
            d = dir.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini).expect("pgbouncer.ini");
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").expect("users.txt");
        let out = as_postgres(&program).arg("-d").arg(dir.join("pgbouncer.ini")).output().expect("pgbouncer runs");
        assert!(out.status.success(), "pgbouncer failed: {}", String::from_utf8_lossy(&out.stderr));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "pgbouncer did not listen:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
        PgBouncer { dir, port }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pgbouncer.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[sqlx::test(migrations = false)]
async fn two_runners_through_a_transaction_pooler_store_everything_once(pool: PgPool) {
    let direct = common::url_of(&pool);
    let server_port: u16 = direct
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a port in DATABASE_URL");
    let bouncer = PgBouncer::start(server_port);
    let via_pooler = direct.replacen(&format!(":{server_port}/"), &format!(":{}/", bouncer.port), 1);
    let h = Harness::start_with(pool, via_pooler, &[spec("pooled", "one", 250), spec("pooled", "two", 200)]).await;
    h.fake.with_control(|c| c.latency = Duration::from_millis(5));
    let env = [("BACKFILL_TRANSACTION_POOLER", "true")];
    // Migrations go through a direct connection, as the README says.
    let out = h.backfill_with(&["migrate"], &[("DATABASE_URL", &direct)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for args in [&["add", "pooled/one"][..], &["add", "pooled/two"], &["status"]] {
        let out = h.backfill_with(args, &env).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}:\n{}", text(&out));
    }
    let (a, b) = tokio::join!(h.looping_runner(1, &env), h.looping_runner(2, &env));
    eprintln!("{} runs through PgBouncer in transaction mode", a + b);
    for name in ["one", "two"] {
        assert_consistent(&h, &format!("pooled/{name}"), "through the pooler").await;
        assert_complete(&h, "pooled", name).await;
    }
}
