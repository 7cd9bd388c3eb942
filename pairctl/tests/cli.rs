//! The real pairctl binary against a real server: a round trip of import, list, summary and
//! export, bad input reported by line, and exit codes.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};

use common::{ADMIN_TOKEN, TestServer, WRITE_TOKEN};

fn pairctl(server: &TestServer, args: &[&str]) -> Output {
    pairctl_as(WRITE_TOKEN, server, args)
}

fn pairctl_as(token: &str, server: &TestServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pairctl"))
        .args(args)
        .env("PAIRCTL_SERVER", server.endpoint())
        .env("PAIRCTL_TOKEN", token)
        .output()
        .expect("pairctl runs")
}

/// The records of an export file without the fields the server sets on every write.
fn exported_records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            for resource in record.as_object_mut().unwrap().values_mut() {
                let resource = resource.as_object_mut().unwrap();
                for output_only in ["etag", "revision", "createTime", "updateTime"] {
                    resource.remove(output_only);
                }
            }
            record
        })
        .collect()
}

/// A temporary directory, to keep while the file is used, and the path of a file `name` in it.
fn scratch_file(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name).to_str().unwrap().to_owned();
    (dir, path)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const OBSERVATIONS_CSV: &str = "\
kind,name,indicator,area,period,value,qualifier,status,reading,source_title,quoted_passage
observation,observations/gdp-kashgar-2021,indicators/gdp,areas/kashgar,2021,0.12,exact,estimated,,Test figures,
observation,observations/gdp-kashgar-2022,indicators/gdp,areas/kashgar,2022,0.13,about,reported,printed,Test figures,GDP was about 0.13 trillion yuan in 2022.
";

#[test]
fn import_list_summary_and_export_round_trip() {
    let server = TestServer::start_with_tokens(&[]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("gdp.csv");
    std::fs::write(&csv, OBSERVATIONS_CSV).unwrap();
    let imported = pairctl(&server, &["import", csv.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(text(&imported.stdout).contains("2 records accepted, 0 rejected"));

    let listed = pairctl(
        &server,
        &[
            "observations",
            "list",
            "--filter",
            r#"area = "areas/kashgar""#,
            "-o",
            "csv",
        ],
    );
    assert!(listed.status.success());
    let listed = text(&listed.stdout);
    assert!(
        listed.starts_with("name,indicator,area,period,value"),
        "{listed}"
    );
    assert!(listed.contains(
        "observations/gdp-kashgar-2022,indicators/gdp,areas/kashgar,2022,0.13,about,reported,printed"
    ));

    let summary = pairctl(
        &server,
        &[
            "funding",
            "summary",
            "--by",
            "party,field",
            "--from",
            "2015",
            "--to",
            "2020",
            "--top",
            "3",
            "-o",
            "json",
        ],
    );
    assert!(summary.status.success(), "{}", text(&summary.stderr));
    let rows: serde_json::Value = serde_json::from_str(&text(&summary.stdout)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5, "three groups, other, total");
    assert_eq!(rows[4]["party"], "(total)");

    let resolved = pairctl(&server, &["resolve", "Shache", "-o", "csv"]);
    assert!(resolved.status.success(), "{}", text(&resolved.stderr));
    assert!(
        text(&resolved.stdout).contains("areas/yarkant,Yarkant County,Shache County,en"),
        "{}",
        text(&resolved.stdout)
    );

    let checked = pairctl(&server, &["check-consistency", "-o", "json"]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let rows: serde_json::Value = serde_json::from_str(&text(&checked.stdout)).unwrap();
    let doubling = &rows.as_array().unwrap()[1];
    assert_eq!(doubling["checked"], "observations/gdp-multiple-2012-2022");
    assert_eq!(doubling["as_stated"], "about 2");
    assert_eq!(doubling["consistent"], "false");
    assert!(
        doubling["explanation"]
            .as_str()
            .unwrap()
            .contains("price bases differ")
    );

    // Export, re-import into an empty server, export again: the same record, every kind and
    // field of it.
    let first = dir.path().join("first.ndjson");
    assert!(
        pairctl(&server, &["export", first.to_str().unwrap()])
            .status
            .success()
    );
    let empty = TestServer::start_on(
        dir.path().join("copy.db"),
        &[common::token_args().as_slice(), &["--demo-data", "false"]].concat(),
    );
    let reimported = pairctl_as(
        ADMIN_TOKEN,
        &empty,
        &["import", first.to_str().unwrap(), "--batch-size", "200"],
    );
    assert!(reimported.status.success(), "{}", text(&reimported.stderr));
    let second = dir.path().join("second.ndjson");
    assert!(
        pairctl(&empty, &["export", second.to_str().unwrap()])
            .status
            .success()
    );
    let exported = exported_records(&first);
    assert!(exported.len() > 900, "the demo record: {}", exported.len());
    assert!(
        exported
            .iter()
            .any(|r| r["project"]["plannedStartDate"]["year"].is_number())
    );
    assert!(
        exported
            .iter()
            .any(|r| r["area"]["name"] == "areas/kashgar")
    );
    assert_eq!(exported, exported_records(&second));
}

#[test]
fn create_and_update_a_project_from_a_file() {
    let server = TestServer::start_with_tokens(&[]);
    let (_dir, path) = scratch_file("project.json");
    let project = |title: &str| {
        format!(
            r#"{{"kind":"project","name":"projects/cli-made","title":"{title}","party":"parties/hunan","areas":"areas/turpan","field":"water","livelihood":true,"status":"planned","data_status":"estimated","funding":"commitment:2024:2500000.50:CNY","source_title":"Programme office ledger"}}"#
        )
    };
    std::fs::write(&path, project("Turpan canal lining")).unwrap();
    let created = pairctl(
        &server,
        &["projects", "create", "--file", &path, "-o", "json"],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("Turpan canal lining"));

    std::fs::write(&path, project("Turpan canal lining, phase 2")).unwrap();
    let updated = pairctl(
        &server,
        &["projects", "update", "--file", &path, "--mask", "title"],
    );
    assert!(updated.status.success(), "{}", text(&updated.stderr));
    let got = pairctl(
        &server,
        &["projects", "get", "projects/cli-made", "-o", "csv"],
    );
    assert!(text(&got.stdout).contains("Turpan canal lining, phase 2"));

    let parties = pairctl(&server, &["parties", "create", "--file", &path]);
    assert_eq!(parties.status.code(), Some(2), "a project is not a party");
    assert!(text(&parties.stderr).contains("another kind than pairing.v1.Party"));
}

#[test]
fn every_resource_round_trips_through_get_json_and_update() {
    let server = TestServer::start_with_tokens(&[]);
    let (_dir, path) = scratch_file("area.json");
    std::fs::write(
        &path,
        r#"{"name":"areas/cli-county","displayName":"Cli County","level":"AREA_LEVEL_COUNTY","parent":"areas/kashgar"}"#,
    )
    .unwrap();
    let refused = pairctl(&server, &["areas", "create", "--file", &path]);
    assert_eq!(refused.status.code(), Some(1), "reference data needs admin");
    assert!(text(&refused.stderr).contains("PERMISSION_DENIED"));
    let created = pairctl_as(ADMIN_TOKEN, &server, &["areas", "create", "--file", &path]);
    assert!(created.status.success(), "{}", text(&created.stderr));

    let got = pairctl(&server, &["areas", "get", "areas/cli-county", "-o", "json"]);
    let mut area: serde_json::Value = serde_json::from_str(&text(&got.stdout)).unwrap();
    assert_eq!(area["parent"], "areas/kashgar");
    assert_eq!(area["level"], "AREA_LEVEL_COUNTY");
    area["displayName"] = "Cli County (renamed)".into();
    std::fs::write(&path, area.to_string()).unwrap();
    let updated = pairctl_as(
        ADMIN_TOKEN,
        &server,
        &["areas", "update", "--file", &path, "--mask", "display_name"],
    );
    assert!(updated.status.success(), "{}", text(&updated.stderr));
    assert!(text(&updated.stdout).contains("Cli County (renamed)"));

    // The file still holds the etag it was read with: a second update is refused.
    let stale = pairctl_as(ADMIN_TOKEN, &server, &["areas", "update", "--file", &path]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(text(&stale.stderr).contains("ABORTED") || text(&stale.stderr).contains("Aborted"));

    std::fs::write(&path, r#"{"name":"areas/x","level":"AREA_LEVL"}"#).unwrap();
    let bad = pairctl_as(ADMIN_TOKEN, &server, &["areas", "create", "--file", &path]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("AREA_LEVL"),
        "{}",
        text(&bad.stderr)
    );

    let deleted = pairctl_as(
        ADMIN_TOKEN,
        &server,
        &["areas", "delete", "areas/cli-county"],
    );
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let gone = pairctl(&server, &["areas", "get", "areas/cli-county"]);
    assert_eq!(gone.status.code(), Some(1));
}

#[test]
fn bad_input_files_are_reported_by_line_with_a_non_zero_exit() {
    let server = TestServer::start_with_tokens(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.ndjson");
    std::fs::write(
        &file,
        [
            r#"{"kind":"observation","name":"observations/ok-1","indicator":"indicators/gdp","area":"areas/hotan","period":"2021","value":"0.05","qualifier":"exact","status":"estimated","source_title":"Test"}"#,
            r#"{"kind":"observation","name":"observations/bad-number","indicator":"indicators/gdp","area":"areas/hotan","period":"2022","value":"lots","qualifier":"exact","status":"estimated","source_title":"Test"}"#,
            r#"{"kind":"observation","name":"observations/bad-ref","indicator":"indicators/nothing","area":"areas/hotan","period":"2022","value":"1","qualifier":"exact","status":"estimated","source_title":"Test"}"#,
            r#"{"kind":"budget","name":"x"}"#,
            r#"{"kind":"observation","name":"observations/ok-2","indicator":"indicators/gdp","area":"areas/hotan","period":"2020","value":"0.04","qualifier":"exact","status":"estimated","source_title":"Test"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let output = pairctl(
        &server,
        &["import", file.to_str().unwrap(), "--batch-size", "2"],
    );
    assert_eq!(output.status.code(), Some(3), "rejections exit 3");
    let errors = text(&output.stderr);
    assert!(errors.contains("line 2: value:"), "{errors}");
    assert!(
        errors.contains("line 3: indicator: indicators/nothing does not exist"),
        "{errors}"
    );
    assert!(
        errors.contains("line 4: unknown variant `budget`"),
        "{errors}"
    );
    assert!(text(&output.stdout).contains("rejected"));

    let missing = pairctl(&server, &["projects", "get", "projects/none"]);
    assert_eq!(missing.status.code(), Some(1));
    let line = text(&missing.stderr);
    assert_eq!(line.lines().count(), 1, "one readable line: {line}");
    assert!(
        line.starts_with("error: NotFound (RESOURCE_NOT_FOUND)"),
        "{line}"
    );

    let bad_filter = pairctl(&server, &["projects", "list", "--filter", "colour = RED"]);
    assert_eq!(bad_filter.status.code(), Some(1));
    assert!(text(&bad_filter.stderr).contains("filter: at position 1: unknown field `colour`"));

    let usage = Command::new(env!("CARGO_BIN_EXE_pairctl"))
        .args(["projects", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    for command in [
        &["parties"][..],
        &["areas", "list"],
        &["pairings", "get"],
        &["projects", "create"],
        &["indicators", "update"],
        &["observations", "delete"],
        &["funding", "summary"],
        &["series"],
        &["reconcile"],
        &["check-consistency"],
        &["resolve"],
        &["import"],
        &["export"],
        &["watch"],
        &["completion"],
    ] {
        let help = Command::new(env!("CARGO_BIN_EXE_pairctl"))
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = text(&help.stdout);
        let example = help.split("Example:").nth(1).unwrap_or_default();
        assert!(
            example.contains("pairctl "),
            "{command:?} --help shows an example"
        );
    }
    let completion = Command::new(env!("CARGO_BIN_EXE_pairctl"))
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(text(&completion.stdout).contains("pairctl"));
}

/// pairctl against a server requiring client certificates: the TLS options and their
/// environment variables reach it; what is missing or unreadable is named, with exit code 2
/// for a bad setting and 1 for a refusal.
#[test]
fn reaches_a_mutual_tls_server_with_its_certificate_options_or_says_why_not() {
    use std::os::unix::fs::PermissionsExt;
    let pki = common::pki::Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let files = pki.write_to(dir.path());
    let server = TestServer::start_on(path("record.db"), &files.server_args(true));
    let port = server.address.rsplit(':').next().unwrap().to_owned();
    let run = |args: &[&str], env: &[(&str, String)]| {
        Command::new(env!("CARGO_BIN_EXE_pairctl"))
            .args(args)
            .env("PAIRCTL_SERVER", format!("https://localhost:{port}"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("pairctl runs")
    };
    let (ca, cert, key) = (
        files.ca.clone(),
        files.client_cert.clone(),
        files.client_key.clone(),
    );
    let by_options = run(
        &[
            "--cacert", &ca, "--cert", &cert, "--key", &key, "parties", "list",
        ],
        &[],
    );
    assert!(by_options.status.success(), "{}", text(&by_options.stderr));
    assert!(text(&by_options.stdout).contains("parties/"));
    let by_environment = run(
        &["parties", "list"],
        &[
            ("PAIRCTL_CACERT", ca.clone()),
            ("PAIRCTL_CERT", cert.clone()),
            ("PAIRCTL_KEY", key.clone()),
        ],
    );
    assert!(
        by_environment.status.success(),
        "{}",
        text(&by_environment.stderr)
    );

    let expect = |output: Output, code: i32, words: &[&str]| {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        for word in words {
            assert!(stderr.contains(word), "{word:?} not in: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    expect(
        run(&["--cacert", &ca, "parties", "list"], &[]),
        1,
        &["the server requires a client certificate"],
    );
    expect(
        run(&["parties", "list"], &[]),
        1,
        &["not signed by a CA this client trusts"],
    );
    expect(
        run(&["--cacert", "/nonexistent/ca.pem", "parties", "list"], &[]),
        2,
        &["--cacert /nonexistent/ca.pem: cannot read it"],
    );
    std::fs::write(path("token"), "write-token-0123456789\n").unwrap();
    std::fs::set_permissions(path("token"), std::fs::Permissions::from_mode(0o644)).unwrap();
    expect(
        run(&["--token-file", &path("token"), "parties", "list"], &[]),
        2,
        &["--token-file", "readable by others (mode 644)"],
    );
    expect(
        run(
            &["--server", "dns:///pairing aid:1", "parties", "list"],
            &[],
        ),
        2,
        &["endpoint `dns:///pairing aid:1`", "not a DNS name"],
    );
    expect(
        run(&["--timeout", "soon", "parties", "list"], &[]),
        2,
        &["--timeout", "soon"],
    );
}

/// What daily use needs: every output format (amounts grouped for people, exact for
/// programs), contexts instead of repeated options, and imports named by their content.
#[test]
fn output_formats_contexts_and_imports_named_by_their_content() {
    let server = TestServer::start_with_tokens(&[]);
    let dir = tempfile::tempdir().unwrap();

    let table = text(&pairctl(&server, &["funding", "summary", "--by", "party"]).stdout);
    let total = table.lines().find(|l| l.starts_with("(total)")).unwrap();
    let words: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(
        words[words.len() - 3..],
        ["synthetic", "synthetic", "1"],
        "status, then coverage: the total rests wholly on synthetic projects: {total}"
    );
    let amount = total.split_whitespace().nth(1).unwrap();
    assert!(
        amount.contains(',') && amount.rsplit_once('.').unwrap().1.len() == 2,
        "grouped, in fen: {total}"
    );
    let csv = text(
        &pairctl(
            &server,
            &[
                "funding",
                "summary",
                "--by",
                "party",
                "-o",
                "csv",
                "--no-headers",
            ],
        )
        .stdout,
    );
    assert!(!csv.starts_with("party,"), "no header: {csv}");
    let raw_total = csv.lines().find(|l| l.starts_with("(total)")).unwrap();
    assert!(
        !raw_total.contains('"'),
        "raw amounts need no quoting: {raw_total}"
    );
    assert_eq!(
        raw_total
            .split(',')
            .nth(1)
            .unwrap()
            .replace(" CNY", "")
            .parse::<f64>()
            .ok(),
        Some(
            amount
                .replace(',', "")
                .replace(" CNY", "")
                .parse::<f64>()
                .unwrap()
        ),
    );

    let names = text(&pairctl(&server, &["parties", "list", "-o", "name"]).stdout);
    assert_eq!(names.lines().count(), 19);
    assert!(names.lines().all(|l| l.starts_with("parties/")), "{names}");
    let yaml = text(&pairctl(&server, &["areas", "get", "areas/kashgar", "-o", "yaml"]).stdout);
    assert!(yaml.contains("name: areas/kashgar"), "{yaml}");
    let yaml_list = text(&pairctl(&server, &["parties", "list", "-o", "yaml"]).stdout);
    let items = yaml_list.lines().filter(|l| l.starts_with("- ")).count();
    assert_eq!(items, 19, "{yaml_list}");
    assert_eq!(
        yaml_list.matches("  name: parties/").count(),
        19,
        "{yaml_list}"
    );
    let json_list: serde_json::Value = serde_json::from_str(&text(
        &pairctl(&server, &["parties", "list", "-o", "json"]).stdout,
    ))
    .unwrap();
    assert_eq!(json_list.as_array().map(Vec::len), Some(19));

    // Contexts: the server comes from the current one; an unknown one is named.
    let config = dir.path().join("config.yaml");
    let bare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pairctl"))
            .args(args)
            .env("PAIRCTL_CONFIG", &config)
            .env_remove("PAIRCTL_SERVER")
            .env_remove("PAIRCTL_TOKEN")
            .output()
            .unwrap()
    };
    let endpoint = server.endpoint();
    assert!(
        bare(&["config", "set-context", "local", "--server", &endpoint])
            .status
            .success()
    );
    assert!(bare(&["config", "use-context", "local"]).status.success());
    let listed = bare(&["parties", "list", "-o", "name"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert_eq!(text(&listed.stdout).lines().count(), 19);
    let contexts = text(&bare(&["config", "get-contexts", "--no-headers"]).stdout);
    assert!(
        contexts.starts_with("local  *") && contexts.contains(&endpoint),
        "{contexts}"
    );
    let unknown = bare(&["--context", "staging", "parties", "list"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("context `staging` is not in")
            && text(&unknown.stderr).contains("(contexts: local)"),
        "{}",
        text(&unknown.stderr)
    );

    // An edited file of the same name is a new import, not a replay of the old one.
    let file = dir.path().join("gdp.csv");
    std::fs::write(&file, OBSERVATIONS_CSV).unwrap();
    let file = file.to_str().unwrap();
    assert!(pairctl(&server, &["import", file]).status.success());
    std::fs::write(file, OBSERVATIONS_CSV.replace("0.13,about", "0.14,about")).unwrap();
    let edited = pairctl(&server, &["import", file]);
    assert!(edited.status.success(), "{}", text(&edited.stderr));
    let get = |format: &[&str]| {
        let args = [
            &["observations", "get", "observations/gdp-kashgar-2022"],
            format,
        ]
        .concat();
        text(&pairctl(&server, &args).stdout)
    };
    assert_eq!(get(&["-o", "name"]).trim(), "observations/gdp-kashgar-2022");
    let value = get(&["-o", "csv", "--no-headers"]);
    assert!(value.contains(",0.14,"), "the edited value: {value}");

    // Export streams to standard output.
    let exported = pairctl(&server, &["export", "-"]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let first = text(&exported.stdout).lines().next().unwrap().to_owned();
    assert!(first.contains("\"area\""), "areas come first: {first}");
}
