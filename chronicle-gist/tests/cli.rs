//! The built binary: help texts and clear errors without a database.

use std::process::{Command, Output};

fn chronicle_gist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chronicle-gist"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("GITHUB_API_URL")
        .env("GITHUB_TOKEN", "irrelevant")
        .output()
        .expect("running chronicle-gist")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_works_for_the_program_and_every_subcommand() {
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--help"],
            &[
                "export",
                "import",
                "verify",
                "--database-url",
                "--api-url",
                "GITHUB_TOKEN",
            ],
        ),
        (
            &["export", "--help"],
            &[
                "--exit-when-idle",
                "--batch-size",
                "--lease",
                "--poll-interval",
                "--max-hold",
                "--database-url",
                "SIGTERM",
            ],
        ),
        (
            &["import", "--help"],
            &["--gist", "--entity-type", "--no-progress", "--api-url"],
        ),
        (
            &["verify", "--help"],
            &["--gist", "--entity-type", "MISMATCH"],
        ),
        (&["help", "export"], &["--exit-when-idle"]),
    ];
    for (args, expected) in cases {
        let output = chronicle_gist(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = stdout(&output);
        for needle in expected {
            assert!(
                text.contains(needle),
                "{args:?} help lacks {needle}:\n{text}"
            );
        }
    }
    let version = chronicle_gist(&["--version"]);
    assert!(stdout(&version).starts_with("chronicle-gist "));
}

#[test]
fn usage_errors_exit_with_2() {
    let output = chronicle_gist(&["import", "--gist", "abc"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--entity-type"),
        "{}",
        stderr(&output)
    );
    assert_eq!(chronicle_gist(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn an_unreachable_database_is_a_clear_failure() {
    for command in [
        &["verify"][..],
        &["export", "--exit-when-idle"],
        &["import", "--gist", "g", "--entity-type", "t"],
    ] {
        let mut args = command.to_vec();
        args.extend([
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none?connect_timeout=5",
        ]);
        let output = chronicle_gist(&args);
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let message = stderr(&output);
        assert!(
            message.contains("cannot use the database: database connection failed"),
            "{message}"
        );
        assert!(message.to_lowercase().contains("refused"), "{message}");
    }
}

#[test]
fn missing_settings_are_named() {
    let output = chronicle_gist(&["verify"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("--database-url or set DATABASE_URL"),
        "{}",
        stderr(&output)
    );

    let output = Command::new(env!("CARGO_BIN_EXE_chronicle-gist"))
        .args([
            "export",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("GITHUB_TOKEN is not set"),
        "{}",
        stderr(&output)
    );
}
