//! Property tests over random documents.

use chronicle_json::{
    apply_patch, canonical_len, canonical_string, checksum, diff, diff_bounded, json_equal,
    merge_patch, parse, pretty_len, JsonError, Value,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;

/// Number texts with many spellings of the same values (1, 1.0, 10e-1, …).
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (
            any::<bool>(),
            0u64..2000,
            0usize..4,
            -25i32..25,
            any::<bool>()
        )
            .prop_map(|(negative, digits, frac_zeros, exponent, upper)| {
                let sign = if negative { "-" } else { "" };
                let e = if upper { "E" } else { "e" };
                format!("{sign}{digits}.{}1{e}{exponent}", "0".repeat(frac_zeros))
            }),
        select(vec![
            "0", "-0", "0.0", "1", "1.0", "1.00", "1e0", "10e-1", "100", "1e2", "0.5", "5e-1",
            "1e21", "1e-7"
        ])
        .prop_map(str::to_owned),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).unwrap().to_string()),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    number_text().prop_map(|text| Value::Number(text.parse().unwrap()))
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "", "a", "b", "x", "~", "/", "~1", "é", "\u{2028}", "\"", "\\"
        ])
        .prop_map(str::to_owned),
        "[a-c~/é\n\"\\\\\u{0}\u{1f}\u{2028}😀]{0,6}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["a", "b", "c", "", "~", "/", "a/b", "~1", "é", "0", "-", "😀"]).prop_map(str::to_owned),
        1 => string(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Pairs of documents: unrelated, related through a merge patch, and
/// arrays with elements inserted and removed.
fn pair() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        (json(), json()),
        (json(), json()).prop_map(|(a, p)| {
            let b = merge_patch(&a, &p);
            (a, b)
        }),
        (
            vec(json(), 0..8),
            vec((any::<usize>(), json()), 0..4),
            vec(any::<usize>(), 0..4)
        )
            .prop_map(|(base, inserts, removes)| {
                let mut edited = base.clone();
                for r in removes {
                    if !edited.is_empty() {
                        edited.remove(r % edited.len());
                    }
                }
                for (at, value) in inserts {
                    edited.insert(at % (edited.len() + 1), value);
                }
                (Value::Array(base), Value::Array(edited))
            }),
    ]
}

/// Random patch operations on paths likely to exist.
fn patch() -> impl Strategy<Value = Value> {
    let pointer = select(vec![
        "", "/a", "/b", "/a/0", "/a/1", "/a/-", "/a/b", "/0", "/-", "/a/a", "/~1", "/01", "/b/c/d",
    ]);
    let op = (
        select(vec!["add", "remove", "replace", "move", "copy", "test"]),
        pointer.clone(),
        pointer,
        json(),
    )
        .prop_map(|(op, path, from, value)| {
            serde_json::json!({"op": op, "path": path, "from": from, "value": value})
        });
    vec(op, 0..5).prop_map(Value::Array)
}

fn reformat(value: &Value) -> Value {
    parse(&serde_json::to_string_pretty(value).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn diff_then_apply_round_trips((a, b) in pair()) {
        let patch = diff(&a, &b);
        let result = apply_patch(&a, &patch).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(json_equal(&result, &b), "patch {}", canonical_string(&patch));
        prop_assert_eq!(checksum(&result), checksum(&b));
        for operation in patch.as_array().unwrap() {
            prop_assert!(matches!(operation["op"].as_str(), Some("add" | "remove" | "replace")));
        }
        // Reversing works as well (revert).
        let back = apply_patch(&b, &diff(&b, &a)).unwrap();
        prop_assert!(json_equal(&back, &a));
    }

    #[test]
    fn diff_of_equal_documents_is_empty(a in json()) {
        prop_assert_eq!(diff(&a, &a), Value::Array(vec![]));
        prop_assert_eq!(diff(&a, &reformat(&a)), Value::Array(vec![]));
        // Same values with normalized numbers: still no change.
        let normalized = parse(&canonical_string(&a)).unwrap();
        prop_assert_eq!(diff(&a, &normalized), Value::Array(vec![]));
    }

    #[test]
    fn canonical_form_is_stable(a in json()) {
        let canonical = canonical_string(&a);
        prop_assert_eq!(&canonical_string(&reformat(&a)), &canonical);
        let reparsed = parse(&canonical).unwrap();
        prop_assert!(json_equal(&reparsed, &a));
        prop_assert_eq!(&canonical_string(&reparsed), &canonical);
    }

    #[test]
    fn equality_agrees_with_canonical_form((a, b) in pair()) {
        let same = json_equal(&a, &b);
        prop_assert_eq!(same, canonical_string(&a) == canonical_string(&b));
        prop_assert_eq!(same, checksum(&a) == checksum(&b));
        prop_assert_eq!(same, diff(&a, &b) == Value::Array(vec![]));
    }

    #[test]
    fn lengths_are_those_of_the_written_text(a in json()) {
        prop_assert_eq!(pretty_len(&a), serde_json::to_string_pretty(&a).unwrap().len());
        prop_assert_eq!(canonical_len(&a), canonical_string(&a).len());
    }

    #[test]
    fn bounded_diff_fails_exactly_when_the_patch_is_too_long(
        (a, b) in pair(),
        limit in 0usize..2000,
    ) {
        let patch = diff(&a, &b);
        let len = canonical_len(&patch);
        prop_assert_eq!(diff_bounded(&a, &b, len), Ok(patch.clone()));
        prop_assert_eq!(diff_bounded(&a, &b, len - 1), Err(JsonError::TooLarge { limit: len - 1 }));
        let expected = if len <= limit { Ok(patch) } else { Err(JsonError::TooLarge { limit }) };
        prop_assert_eq!(diff_bounded(&a, &b, limit), expected);
    }

    #[test]
    fn merge_patches_are_idempotent(a in json(), p in json()) {
        let once = merge_patch(&a, &p);
        let twice = merge_patch(&once, &p);
        prop_assert!(json_equal(&once, &twice));
    }

    #[test]
    fn random_patches_never_panic(a in json(), p in patch()) {
        if let Ok(result) = apply_patch(&a, &p) {
            let again = apply_patch(&a, &diff(&a, &result)).unwrap();
            prop_assert!(json_equal(&again, &result));
        }
    }

    #[test]
    fn number_spellings_are_equal(
        negative in any::<bool>(),
        digits in "[1-9][0-9]{0,30}",
        point in 0usize..32,
        exponent in -40i64..40,
        shift in -5i64..5,
        zeros in 0usize..3,
    ) {
        // The same value with the decimal point moved and the exponent
        // compensated, plus trailing zeros.
        let point = point.min(digits.len());
        let sign = if negative { "-" } else { "" };
        let spell = |point: usize, exponent: i64, zeros: usize| {
            let (int, frac) = digits.split_at(point);
            let int = if int.is_empty() { "0" } else { int };
            let frac = format!("{frac}{}", "0".repeat(zeros));
            let point = if frac.is_empty() { "" } else { "." };
            format!("{sign}{int}{point}{frac}e{exponent}")
        };
        let first = spell(point, exponent, 0);
        let moved = (point as i64 + shift).clamp(0, digits.len() as i64);
        let second = spell(moved as usize, exponent - (moved - point as i64), zeros);
        let (a, b) = (parse(&first).unwrap(), parse(&second).unwrap());
        prop_assert!(json_equal(&a, &b), "{} vs {}", first, second);
        prop_assert_eq!(canonical_string(&a), canonical_string(&b));
        // The canonical text denotes the same double as the input.
        let as_f64 = |t: &str| t.parse::<f64>().unwrap();
        prop_assert_eq!(as_f64(&canonical_string(&a)), as_f64(&first));
    }

    #[test]
    fn doubles_keep_their_value(x in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let value = Value::Number(serde_json::Number::from_f64(x).unwrap());
        let canonical = canonical_string(&value);
        prop_assert_eq!(canonical.parse::<f64>().unwrap(), x);
    }
}
