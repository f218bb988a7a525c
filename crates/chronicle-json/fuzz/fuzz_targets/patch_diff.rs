//! Arbitrary bytes → up to three JSON texts separated by NUL bytes (which
//! cannot occur in valid JSON): documents `a` and `b` and an optional
//! patch. Checks that nothing panics or overflows the stack, and the
//! round-trip properties the backend relies on.

#![no_main]

use chronicle_json::{
    apply_patch, canonical_string, checksum, depth, diff, json_equal, merge_patch, parse, Value,
    MAX_DEPTH,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
        // A single text: the parser alone must behave.
        if let Ok(value) = parse(text) {
            check_canonical(&value);
        }
        return;
    };
    let patch_text = parts.next();
    let (Ok(a), Ok(b)) = (parse(a), parse(b)) else {
        return;
    };
    check_canonical(&a);
    check_canonical(&b);

    // diff/apply round trip in both directions.
    let forward = diff(&a, &b);
    let result = apply_patch(&a, &forward).expect("a generated patch applies");
    assert!(json_equal(&result, &b), "apply(a, diff(a, b)) != b");
    assert_eq!(checksum(&result), checksum(&b));
    let back = apply_patch(&b, &diff(&b, &a)).expect("a generated patch applies");
    assert!(json_equal(&back, &a));
    assert_eq!(diff(&a, &a), Value::Array(vec![]));
    assert_eq!(json_equal(&a, &b), diff(&a, &b) == Value::Array(vec![]));
    assert_eq!(json_equal(&a, &b), checksum(&a) == checksum(&b));

    // Merge patches: never deeper than the inputs, idempotent, and their
    // effect is reproducible as a JSON Patch.
    let merged = merge_patch(&a, &b);
    assert!(depth(&merged) <= depth(&a).max(depth(&b)));
    assert!(json_equal(&merge_patch(&merged, &b), &merged));
    let as_patch = diff(&a, &merged);
    assert!(json_equal(
        &apply_patch(&a, &as_patch).expect("applies"),
        &merged
    ));

    // Arbitrary patches: errors are fine, panics are not; results stay
    // within the limits and round-trip too.
    if let Some(Ok(patch)) = patch_text.map(parse) {
        if let Ok(patched) = apply_patch(&a, &patch) {
            assert!(depth(&patched) <= MAX_DEPTH);
            let again = apply_patch(&a, &diff(&a, &patched)).expect("applies");
            assert!(json_equal(&again, &patched));
        }
        let _ = merge_patch(&a, &patch);
    }
});

fn check_canonical(value: &Value) {
    let canonical = canonical_string(value);
    let reparsed = parse(&canonical).expect("canonical text parses");
    assert!(json_equal(&reparsed, value));
    assert_eq!(canonical_string(&reparsed), canonical);
    let pretty = serde_json::to_string_pretty(value).expect("serializes");
    assert_eq!(
        canonical_string(&parse(&pretty).expect("parses")),
        canonical
    );
}
