//! Deeply nested input must give clean errors or work, never overflow the
//! stack. Each test runs on a thread with a deliberately small stack
//! (PostgreSQL's default max_stack_depth is 2 MB); an overflow would abort
//! the whole test binary.

use chronicle_json::{
    apply_patch, canonical_len, canonical_string, checksum, depth, diff, diff_bounded, json_equal,
    merge_patch, parse, pretty_len, JsonError, PatchError, Redactor, Value, MAX_DEPTH,
};

/// 2 MiB, the default of PostgreSQL's max_stack_depth.
const SMALL_STACK: usize = 2 << 20;

fn on_small_stack(stack_size: usize, test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(stack_size)
        .spawn(test)
        .unwrap()
        .join()
        .unwrap();
}

/// Drops a value of any depth without recursion (serde_json's Drop recurses).
fn dismantle(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// `{"a":[{"a":[ … "leaf" … ]}]}` with `levels` containers.
fn nested_text(levels: usize, leaf: &str) -> String {
    let mut text = String::new();
    for level in 0..levels {
        text.push_str(if level % 2 == 0 { "{\"a\":" } else { "[" });
    }
    text.push_str(leaf);
    for level in (0..levels).rev() {
        text.push(if level % 2 == 0 { '}' } else { ']' });
    }
    text
}

#[test]
fn nesting_beyond_max_depth_is_a_clean_error() {
    on_small_stack(SMALL_STACK, || {
        let inputs = [
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            nested_text(10_000, "1"),
            "{\"a\":".repeat(10_000),
            "[".repeat(1_000_000),
            format!("[1, \"[[[[\", {}", "[".repeat(MAX_DEPTH)),
            nested_text(MAX_DEPTH + 1, "null"),
            format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1)),
        ];
        for text in inputs {
            assert_eq!(parse(&text), Err(JsonError::TooDeep), "{}…", &text[..20]);
        }
        assert_eq!(
            JsonError::TooDeep.to_string(),
            format!("JSON value is nested more than {MAX_DEPTH} levels deep")
        );
        // Brackets inside strings do not count.
        let text = format!("[\"{}\"]", "[".repeat(100_000));
        assert_eq!(depth(&parse(&text).unwrap()), 1);
    });
}

#[test]
fn documents_at_max_depth_work_everywhere() {
    on_small_stack(SMALL_STACK, || {
        let doc = parse(&nested_text(MAX_DEPTH, "\"old\"")).unwrap();
        let changed = parse(&nested_text(MAX_DEPTH, "\"new\"")).unwrap();
        assert_eq!(depth(&doc), MAX_DEPTH);

        let copy = parse(&nested_text(MAX_DEPTH, "\"old\"")).unwrap();
        assert!(json_equal(&doc, &copy));
        assert!(!json_equal(&doc, &changed));
        assert_eq!(canonical_string(&doc), nested_text(MAX_DEPTH, "\"old\""));
        assert_ne!(checksum(&doc), checksum(&changed));
        // serde_json's own (recursive) serializer also copes at this depth.
        assert!(json_equal(
            &parse(&serde_json::to_string(&doc).unwrap()).unwrap(),
            &doc
        ));

        let patch = diff(&doc, &changed);
        assert_eq!(patch.as_array().unwrap().len(), 1);
        assert!(json_equal(&apply_patch(&doc, &patch).unwrap(), &changed));
        assert!(json_equal(
            &apply_patch(&changed, &diff(&changed, &doc)).unwrap(),
            &doc
        ));
        assert_eq!(diff(&doc, &copy), Value::Array(vec![]));

        // A document at the limit inside a string is parsed, redacted and dropped.
        let redactor = Redactor::from_list("token");
        let mut embedded = Value::String(nested_text(MAX_DEPTH - 1, r#"{"token":1}"#));
        assert_eq!(redactor.redact(&mut embedded), 1);
        let expected = nested_text(MAX_DEPTH - 1, r#"{"token":"[REDACTED]"}"#);
        assert_eq!(embedded.as_str(), Some(expected.as_str()));

        let objects = parse(&format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_DEPTH),
            "}".repeat(MAX_DEPTH)
        ))
        .unwrap();
        let merged = merge_patch(&objects, &objects);
        assert!(json_equal(&merged, &objects));
        let removal = parse(&format!(
            "{}null{}",
            "{\"a\":".repeat(MAX_DEPTH),
            "}".repeat(MAX_DEPTH)
        ))
        .unwrap();
        assert_eq!(
            canonical_string(&merge_patch(&objects, &removal)),
            format!(
                "{}{{}}{}",
                "{\"a\":".repeat(MAX_DEPTH - 1),
                "}".repeat(MAX_DEPTH - 1)
            )
        );
    });
}

#[test]
fn iterative_functions_accept_any_depth() {
    on_small_stack(SMALL_STACK, || {
        const LEVELS: usize = 200_000;
        let build = |leaf: i32| {
            let mut value = Value::from(leaf);
            for level in 0..LEVELS {
                value = if level % 2 == 0 {
                    Value::Array(vec![value])
                } else {
                    let mut map = serde_json::Map::new();
                    map.insert("k".into(), value);
                    Value::Object(map)
                };
            }
            value
        };
        let (a, b, c) = (build(1), build(1), build(2));
        assert_eq!(depth(&a), LEVELS);
        assert!(json_equal(&a, &b));
        assert!(!json_equal(&a, &c));
        let text = canonical_string(&a);
        assert_eq!(text.len(), LEVELS / 2 * ("[]".len() + "{\"k\":}".len()) + 1);
        assert_eq!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&c));
        assert_eq!(parse(&text), Err(JsonError::TooDeep));
        let mut redacted = build(1);
        assert_eq!(Redactor::from_list("token").redact(&mut redacted), 0);
        assert!(json_equal(&redacted, &a));
        // Applying refuses documents too deep to copy safely.
        let patch = parse(r#"[{"op":"test","path":"","value":null}]"#).unwrap();
        assert_eq!(apply_patch(&a, &patch), Err(JsonError::TooDeep));
        // Adding such a value is refused too (before copying it).
        let mut add = serde_json::Map::new();
        add.insert("op".into(), "add".into());
        add.insert("path".into(), "".into());
        add.insert("value".into(), a);
        let mut add = Value::Array(vec![Value::Object(add)]);
        assert!(matches!(
            apply_patch(&Value::Null, &add),
            Err(JsonError::Patch {
                index: 0,
                error: PatchError::TooDeep
            })
        ));
        let a = add[0]["value"].take();
        for value in [a, b, c, patch, add, redacted] {
            dismantle(value);
        }
    });
}

/// `[[[…[leaf,leaf,…]…]]]`: `levels` arrays around `leaves` copies of `leaf`,
/// the shape of a 2 MB state whose pretty form and diff are hundreds of
/// times larger.
fn many_deep_leaves(levels: usize, leaves: usize, leaf: &str) -> Value {
    let items = vec![leaf; leaves].join(",");
    parse(&format!(
        "{}{items}{}",
        "[".repeat(levels),
        "]".repeat(levels)
    ))
    .unwrap()
}

#[test]
fn derived_outputs_are_measured_before_they_are_built() {
    on_small_stack(SMALL_STACK, || {
        let (levels, leaves) = (990, 20_000);
        let zeros = many_deep_leaves(levels, leaves, "0");
        let ones = many_deep_leaves(levels, leaves, "1");
        let text_len = canonical_len(&zeros);
        assert_eq!(text_len, 2 * levels + 2 * leaves - 1);
        // Each leaf and bracket on its own line, indented by two spaces per level.
        assert_eq!(
            pretty_len(&zeros),
            2 * levels * (levels + 1) + leaves * (2 * levels + 3) - 2
        );
        assert!(pretty_len(&zeros) > 600 * text_len);

        // Every operation's path is about two bytes per level.
        let limit = 1 << 20;
        assert_eq!(
            diff_bounded(&zeros, &ones, limit),
            Err(JsonError::TooLarge { limit })
        );
        let patch = diff_bounded(&zeros, &ones, 100 << 20).unwrap();
        assert_eq!(patch.as_array().unwrap().len(), leaves);
        assert!(canonical_len(&patch) > 600 * text_len);
        assert_eq!(patch, diff(&zeros, &ones));
        assert_eq!(
            diff_bounded(&zeros, &ones, canonical_len(&patch) - 1),
            Err(JsonError::TooLarge {
                limit: canonical_len(&patch) - 1
            })
        );
        assert_eq!(
            JsonError::TooLarge { limit }.to_string(),
            "the JSON patch between these documents would be longer than the limit of 1048576 bytes"
        );

        // serde_json's own pretty printer agrees, on a size it can afford.
        let small = many_deep_leaves(levels, 100, "0");
        assert_eq!(
            pretty_len(&small),
            serde_json::to_string_pretty(&small).unwrap().len()
        );
    });
}
