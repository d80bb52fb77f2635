//! Interoperability with the independent tools a court or a defence expert would use: the real `age` decrypts
//! the package, `tar` unpacks it, `bagit.py --validate` validates the bag and `case_validate` the custody record.
//! Tampering is caught by those tools wherever they check. A missing tool skips its test with a message; CI
//! installs them with `tests/interop/install.sh`.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::Fixture;

const INSTALL: &str = "install with crates/comity-evidence/tests/interop/install.sh";

fn installed(tool: &str, probe: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("skipped: {tool} not installed ({INSTALL})");
    }
    ok
}

fn tools_present(tools: &[&str]) -> bool {
    tools.iter().all(|tool| match *tool {
        "age" => installed("age", &["--version"]) && installed("age-keygen", &["--version"]),
        "tar" => installed("tar", &["--version"]),
        "bagit.py" => installed("bagit.py", &["--version"]),
        "case_validate" => installed("case_validate", &["--help"]),
        other => installed(other, &["--version"]),
    })
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `age -d -i IDENTITY FILE | tar x -C DIR`, done in two steps so that each tool's verdict is visible.
fn age_decrypt_and_untar(fx: &Fixture, package: &str, dir: &str) -> Output {
    let identity = fx.identity_file();
    let decrypted = run(
        "age",
        &[
            "-d",
            "-i",
            identity.to_str().expect("utf-8"),
            "-o",
            "plain.tar",
            package,
        ],
        fx.dir.path(),
    );
    if !decrypted.status.success() {
        return decrypted;
    }
    std::fs::create_dir(fx.path(dir)).expect("mkdir");
    let untarred = run("tar", &["-x", "-f", "plain.tar", "-C", dir], fx.dir.path());
    std::fs::remove_file(fx.path("plain.tar")).expect("remove plain.tar");
    untarred
}

fn sealed_package(fx: &Fixture) {
    fx.write_files(&[
        ("evidence/subscriber.csv", b"account,name\n42,Jane Doe\n"),
        ("evidence/logs/access.log", &[b'x'; 70_000]),
        ("evidence/odd names/100% ünïcode.txt", b"odd"),
        ("evidence/empty.bin", b""),
    ]);
    fx.seal(&["evidence"], "p.age");
}

#[test]
fn age_tar_and_bagit_accept_the_package() {
    if !tools_present(&["age", "tar", "bagit.py"]) {
        return;
    }
    let fx = Fixture::new();
    sealed_package(&fx);
    assert_ok(
        &age_decrypt_and_untar(&fx, "p.age", "bag"),
        "age -d | tar x",
    );
    let validated = run("bagit.py", &["--validate", "bag"], fx.dir.path());
    assert_ok(&validated, "bagit.py --validate");
    assert!(String::from_utf8_lossy(&validated.stderr).contains("bag is valid"));
    assert_eq!(
        std::fs::read(fx.path("bag/data/evidence/subscriber.csv")).expect("payload"),
        b"account,name\n42,Jane Doe\n"
    );

    // The directory `open` produces is a valid bag too.
    comity_evidence::open(&fx.path("p.age"), &fx.identity, &fx.path("opened")).expect("open");
    assert_ok(
        &run("bagit.py", &["--validate", "opened"], fx.dir.path()),
        "bagit.py on the opened bag",
    );
}

#[test]
fn case_validate_accepts_the_custody_record() {
    if !tools_present(&["case_validate"]) {
        return;
    }
    let fx = Fixture::new();
    sealed_package(&fx);
    comity_evidence::open(&fx.path("p.age"), &fx.identity, &fx.path("opened")).expect("open");
    let validated = run(
        "case_validate",
        &["opened/custody-record.jsonld"],
        fx.dir.path(),
    );
    assert_ok(&validated, "case_validate");
    assert!(String::from_utf8_lossy(&validated.stdout).contains("Conforms: True"));

    // And it would notice a broken record: a hash that is not hexadecimal.
    let record = std::fs::read_to_string(fx.path("opened/custody-record.jsonld")).expect("record");
    let pos = record.find("\"xsd:hexBinary\"").expect("a hash value");
    let value_at =
        pos + record[pos..].find("\"@value\": \"").expect("value") + "\"@value\": \"".len();
    let mut broken = record.clone();
    broken.replace_range(value_at..value_at + 2, "zz");
    std::fs::write(fx.path("broken.jsonld"), broken).expect("write");
    let rejected = run("case_validate", &["broken.jsonld"], fx.dir.path());
    assert!(
        !rejected.status.success(),
        "case_validate accepted a non-hex hash"
    );
}

#[test]
fn standard_tools_catch_tampering_where_they_check() {
    if !tools_present(&["age", "tar", "bagit.py"]) {
        return;
    }
    let fx = Fixture::new();
    sealed_package(&fx);

    // One byte of ciphertext: age refuses to decrypt (and comity agrees).
    let mut bytes = std::fs::read(fx.path("p.age")).expect("package");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(fx.path("flipped.age"), &bytes).expect("write");
    let decrypted = run(
        "age",
        &[
            "-d",
            "-i",
            fx.identity_file().to_str().expect("utf-8"),
            "-o",
            "out.tar",
            "flipped.age",
        ],
        fx.dir.path(),
    );
    assert!(!decrypted.status.success(), "age decrypted a modified file");

    // One byte of a payload file, or of the manifest: bagit.py refuses the bag.
    assert_ok(
        &age_decrypt_and_untar(&fx, "p.age", "bag"),
        "age -d | tar x",
    );
    let payload = fx.path("bag/data/evidence/subscriber.csv");
    let original = std::fs::read(&payload).expect("payload");
    let mut changed = original.clone();
    changed[0] ^= 0x20;
    std::fs::write(&payload, &changed).expect("write");
    let validated = run("bagit.py", &["--validate", "bag"], fx.dir.path());
    assert!(
        !validated.status.success(),
        "bagit.py accepted a modified payload file"
    );
    assert!(String::from_utf8_lossy(&validated.stderr).contains("subscriber.csv"));
    std::fs::write(&payload, &original).expect("restore");
    assert_ok(
        &run("bagit.py", &["--validate", "bag"], fx.dir.path()),
        "bagit.py after restoring",
    );

    let manifest = fx.path("bag/manifest-sha256.txt");
    let mut text = std::fs::read(&manifest).expect("manifest");
    text[3] = if text[3] == b'0' { b'1' } else { b'0' };
    std::fs::write(&manifest, &text).expect("write");
    let validated = run("bagit.py", &["--validate", "bag"], fx.dir.path());
    assert!(
        !validated.status.success(),
        "bagit.py accepted a modified manifest"
    );
}

#[test]
fn keys_made_by_age_keygen_work_with_the_command() {
    if !tools_present(&["age"]) {
        return;
    }
    let fx = Fixture::new();
    fx.write_files(&[("doc.txt", b"made for an age-keygen identity")]);
    assert_ok(
        &run("age-keygen", &["-o", "keygen.txt"], fx.dir.path()),
        "age-keygen",
    );
    let text = std::fs::read_to_string(fx.path("keygen.txt")).expect("identity");
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_owned();
    let key = fx.key_file();
    let bin = env!("CARGO_BIN_EXE_comity-evidence");
    let sealed = run(
        bin,
        &[
            "seal",
            "-r",
            &recipient,
            "--signing-key",
            key.to_str().expect("utf-8"),
            "--out",
            "p.age",
            "doc.txt",
        ],
        fx.dir.path(),
    );
    assert_ok(&sealed, "comity-evidence seal");
    let opened = run(
        bin,
        &["open", "p.age", "-i", "keygen.txt", "--out", "opened"],
        fx.dir.path(),
    );
    assert_ok(&opened, "comity-evidence open");
    // And the real age opens what comity sealed for that identity.
    let decrypted = run(
        "age",
        &["-d", "-i", "keygen.txt", "-o", "plain.tar", "p.age"],
        fx.dir.path(),
    );
    assert_ok(&decrypted, "age -d");
}

#[test]
fn age_and_the_age_crate_decrypt_for_every_recipient() {
    if !tools_present(&["age"]) {
        return;
    }
    use secrecy::ExposeSecret;
    let fx = Fixture::new();
    // Sizes around the 64 KiB age chunk and the 1 MiB pipeline chunk, so that the tar stream ends in a short, a
    // full and a just-started chunk across the three packages.
    let others: Vec<_> = (0..2).map(|_| age::x25519::Identity::generate()).collect();
    for (n, size) in [(0, 3 * 65_536 + 5), (1, 1_048_576 - 2048), (2, 1_048_576)] {
        let name = format!("file{n}.bin");
        let content: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        fx.write_files(&[(name.as_str(), &content)]);
        let mut options = fx.options(&[&name]);
        options
            .recipients
            .extend(others.iter().map(age::x25519::Identity::to_public));
        let package = format!("p{n}.age");
        comity_evidence::seal(options, &fx.path(&package)).expect("seal");

        let by_crate = fx.decrypt(&fx.path(&package));
        let by_fixture = comity_evidence::verify(&fx.path(&package), Some(&fx.identity), None);
        assert!(by_fixture.is_ok(), "{by_fixture:?}");
        for (i, identity) in std::iter::once(&fx.identity).chain(&others).enumerate() {
            let identity_path = fx.path(&format!("identity{n}-{i}.txt"));
            std::fs::write(
                &identity_path,
                format!("{}\n", identity.to_string().expose_secret()),
            )
            .expect("identity file");
            let out = format!("plain{n}-{i}.tar");
            assert_ok(
                &run(
                    "age",
                    &[
                        "-d",
                        "-i",
                        identity_path.to_str().expect("utf-8"),
                        "-o",
                        &out,
                        &package,
                    ],
                    fx.dir.path(),
                ),
                "age -d",
            );
            let by_age = std::fs::read(fx.path(&out)).expect("plaintext");
            assert_eq!(by_age, by_crate, "recipient {i}, package {n}");
            // The age crate agrees for this recipient too.
            let bytes = std::fs::read(fx.path(&package)).expect("package");
            let mut by_crate_for_recipient = Vec::new();
            age::Decryptor::new(&bytes[..])
                .expect("age header")
                .decrypt(std::iter::once(identity as &dyn age::Identity))
                .expect("decrypt")
                .read_to_end(&mut by_crate_for_recipient)
                .expect("plaintext");
            assert_eq!(by_crate_for_recipient, by_crate);
        }
        // The payload is in the tar, byte for byte.
        let mut archive = tar::Archive::new(&by_crate[..]);
        let mut found = false;
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("entry");
            if entry.path_bytes().as_ref() == format!("data/{name}").as_bytes() {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).expect("entry bytes");
                assert_eq!(bytes, content);
                found = true;
            }
        }
        assert!(found, "data/{name} is in the bag");
    }
}
