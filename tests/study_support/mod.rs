//! Helpers shared by the end-to-end tests of the `study` binary: temporary
//! folders, running the binary, tiny study files, and an XML
//! well-formedness check for the SVG figures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `study` binary built for the tests.
pub fn study_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_study"))
}

/// The project's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty folder for one test (removed first if it exists).
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rebar-study-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

/// Runs the binary with `args` in `cwd`.
pub fn run_in(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = study_bin();
    command.current_dir(cwd).args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("run the study binary")
}

/// Text of a process's stderr.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A tiny SVI study on the eruptions column, with the given extra lines
/// (they may override nothing: TOML forbids repeated keys, so callers pass
/// only keys that the template leaves out).
pub fn tiny_study(seeds: &str, n_steps: usize, extra: &str) -> String {
    let data = root().join("data").join("faithful.csv");
    format!(
        "master_seed = 7\n\
         seeds = {seeds}\n\
         n_components = [2]\n\
         estimators = [\"reinforce\", \"rebar\"]\n\
         temperatures = [0.5]\n\
         learning_rates = [0.05]\n\
         n_steps = {n_steps}\n\
         log_every = 10\n\
         {extra}\n\
         [[datasets]]\n\
         name = \"eruptions\"\n\
         file = {data:?}\n\
         columns = [\"eruptions\"]\n\
         \n\
         [em]\n\
         max_iter = 200\n"
    )
}

/// Checks that `text` is well-formed XML: one root element, balanced and
/// properly nested tags, quoted and unique attributes, valid entity
/// references, nothing but comments, processing instructions and white
/// space outside the root.
pub fn check_xml(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some(offset) = text[at..].find('<') else {
            check_text(&text[at..], !stack.is_empty())?;
            break;
        };
        check_text(&text[at..at + offset], !stack.is_empty())?;
        at += offset;
        let rest = &text[at..];
        if let Some(body) = rest.strip_prefix("<!--") {
            let end = body.find("-->").ok_or("unterminated comment")?;
            at += 4 + end + 3;
        } else if rest.starts_with("<?") {
            at += rest
                .find("?>")
                .ok_or("unterminated processing instruction")?
                + 2;
        } else if rest.starts_with("<!DOCTYPE") {
            at += rest.find('>').ok_or("unterminated DOCTYPE")? + 1;
        } else if let Some(body) = rest.strip_prefix("</") {
            let end = body.find('>').ok_or("unterminated end tag")?;
            let name = body[..end].trim();
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("end tag </{name}> closes {other:?}")),
            }
            at += 2 + end + 1;
        } else {
            let (name, length, closed) = parse_start_tag(rest)?;
            if stack.is_empty() {
                roots += 1;
            }
            if !closed {
                stack.push(name);
            }
            at += length;
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!("element <{open}> is never closed"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

/// Parses `<name attr="v" ...>` or `.../>`; returns the name, the length
/// in bytes and whether the element closed itself.
fn parse_start_tag(tag: &str) -> Result<(String, usize, bool), String> {
    let body = &tag[1..];
    let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    if name_len == 0 {
        return Err(format!("bad tag start {:?}", &tag[..tag.len().min(20)]));
    }
    let name = body[..name_len].to_string();
    let mut seen: Vec<String> = Vec::new();
    let mut at = 1 + name_len;
    loop {
        let rest = &tag[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if trimmed.starts_with("/>") {
            return Ok((name, at + 2, true));
        }
        if trimmed.starts_with('>') {
            return Ok((name, at + 1, false));
        }
        let attr_len = trimmed.find(|c: char| !is_name_char(c)).unwrap_or(0);
        if attr_len == 0 {
            return Err(format!("bad attribute in <{name}>"));
        }
        if trimmed.len() == rest.len() {
            return Err(format!(
                "attributes of <{name}> are not separated by white space"
            ));
        }
        let attr = trimmed[..attr_len].to_string();
        if seen.contains(&attr) {
            return Err(format!("attribute {attr} repeated in <{name}>"));
        }
        seen.push(attr.clone());
        let after = trimmed[attr_len..].trim_start();
        let after = after
            .strip_prefix('=')
            .ok_or(format!("attribute {attr} has no value"))?;
        let after = after.trim_start();
        let quote = after.chars().next().ok_or("tag ends early")?;
        if quote != '"' && quote != '\'' {
            return Err(format!("attribute {attr} of <{name}> is not quoted"));
        }
        let value_end = after[1..]
            .find(quote)
            .ok_or("unterminated attribute value")?;
        let value = &after[1..1 + value_end];
        if value.contains('<') {
            return Err(format!("'<' inside attribute {attr}"));
        }
        check_entities(value)?;
        let consumed = tag[at..].len() - after[1 + value_end + 1..].len();
        at += consumed;
    }
}

fn check_text(text: &str, inside_root: bool) -> Result<(), String> {
    if !inside_root && !text.trim().is_empty() {
        return Err(format!("text outside the root element: {:?}", text.trim()));
    }
    check_entities(text)
}

fn check_entities(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        let tail = &rest[at + 1..];
        let end = tail.find(';').ok_or("'&' without ';'")?;
        let entity = &tail[..end];
        let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
            || entity
                .strip_prefix('#')
                .is_some_and(|dec| !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(format!("bad entity &{entity};"));
        }
        rest = &tail[end + 1..];
    }
    Ok(())
}

/// Checks every SVG under `dir/figures`: well-formed, and with axis labels
/// that carry units and a legend. Returns how many were checked.
pub fn check_figures(dir: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir.join("figures")).expect("figures folder") {
        let path = entry.expect("figure entry").path();
        let text = std::fs::read_to_string(&path).expect("read a figure");
        if let Err(reason) = check_xml(&text) {
            panic!("{} is not well-formed XML: {reason}", path.display());
        }
        assert!(text.contains("<svg"), "{} is not SVG", path.display());
        assert!(
            text.contains('(') && text.contains(')'),
            "{}: no unit",
            path.display()
        );
        count += 1;
    }
    count
}

#[test]
fn the_xml_check_accepts_and_rejects() {
    assert_eq!(check_xml("<a x=\"1\"><b/>t &amp; u</a>"), Ok(()));
    assert!(check_xml("<?xml version=\"1.0\"?>\n<svg a='1'><!-- c --></svg>\n").is_ok());
    for bad in [
        "<a><b></a></b>",
        "<a x=1></a>",
        "<a x=\"1\" x=\"2\"></a>",
        "<a>&nope;</a>",
        "<a></a><b></b>",
        "<a>",
        "text<a></a>",
        "<a x=\"<\"></a>",
        "<a x=\"1\"y=\"2\"></a>",
    ] {
        assert!(check_xml(bad).is_err(), "accepted {bad:?}");
    }
}
