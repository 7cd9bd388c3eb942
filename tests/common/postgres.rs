//! A fresh PostgreSQL database per test, dropped afterwards.
//!
//! Uses `DATABASE_URL` (a server URL whose database is only used to create others) or
//! `postgres://postgres@127.0.0.1:5432/postgres`. Without a reachable server the test skips,
//! except under CI, where it fails.

use tokio_postgres::NoTls;

/// A database created for one test.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of `database` on the same server as `admin`.
fn with_database(admin: &str, database: &str) -> String {
    match admin.rfind('/') {
        Some(slash) if slash > admin.find("://").map_or(0, |s| s + 2) => {
            format!("{}/{database}", &admin[..slash])
        }
        _ => format!("{admin}/{database}"),
    }
}

async fn execute(url: &str, statement: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let driver = tokio::spawn(connection);
    let result = client.batch_execute(statement).await;
    drop(client);
    let _ = driver.await;
    result
}

impl PgDatabase {
    /// Creates a uniquely named database, or `None` (after saying why) when no server answers
    /// outside CI.
    pub async fn create() -> Option<Self> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let admin_url = admin_url();
        let name = format!(
            "pairing_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        match execute(&admin_url, &format!("CREATE DATABASE {name}")).await {
            Ok(()) => Some(PgDatabase { admin_url, name }),
            Err(error) if super::in_ci() => {
                panic!("PostgreSQL is required under CI ({admin_url}): {error}")
            }
            Err(error) => {
                eprintln!("skipping: PostgreSQL not reachable at {admin_url}: {error}");
                None
            }
        }
    }

    /// The URL of the test's database.
    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside or outside a runtime; a thread of its own works in both.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = runtime.block_on(execute(&admin_url, &statement));
        })
        .join();
    }
}
