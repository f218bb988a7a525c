//! RFC 7396 JSON Merge Patch.

use chronicle_json::{canonical_string, json_equal, merge_patch, parse};

/// Every example of RFC 7396 Appendix A: (target, patch, result).
const RFC_7396_APPENDIX_A: &[(&str, &str, &str)] = &[
    (r#"{"a":"b"}"#, r#"{"a":"c"}"#, r#"{"a":"c"}"#),
    (r#"{"a":"b"}"#, r#"{"b":"c"}"#, r#"{"a":"b","b":"c"}"#),
    (r#"{"a":"b"}"#, r#"{"a":null}"#, r#"{}"#),
    (r#"{"a":"b","b":"c"}"#, r#"{"a":null}"#, r#"{"b":"c"}"#),
    (r#"{"a":["b"]}"#, r#"{"a":"c"}"#, r#"{"a":"c"}"#),
    (r#"{"a":"c"}"#, r#"{"a":["b"]}"#, r#"{"a":["b"]}"#),
    (
        r#"{"a":{"b":"c"}}"#,
        r#"{"a":{"b":"d","c":null}}"#,
        r#"{"a":{"b":"d"}}"#,
    ),
    (r#"{"a":[{"b":"c"}]}"#, r#"{"a":[1]}"#, r#"{"a":[1]}"#),
    (r#"["a","b"]"#, r#"["c","d"]"#, r#"["c","d"]"#),
    (r#"{"a":"b"}"#, r#"["c"]"#, r#"["c"]"#),
    (r#"{"a":"foo"}"#, "null", "null"),
    (r#"{"a":"foo"}"#, r#""bar""#, r#""bar""#),
    (r#"{"e":null}"#, r#"{"a":1}"#, r#"{"e":null,"a":1}"#),
    ("[1,2]", r#"{"a":"b","c":null}"#, r#"{"a":"b"}"#),
    ("{}", r#"{"a":{"bb":{"ccc":null}}}"#, r#"{"a":{"bb":{}}}"#),
];

#[test]
fn rfc_7396_appendix_a() {
    assert_eq!(RFC_7396_APPENDIX_A.len(), 15);
    for (target, patch, expected) in RFC_7396_APPENDIX_A {
        let result = merge_patch(&parse(target).unwrap(), &parse(patch).unwrap());
        let expected = parse(expected).unwrap();
        assert!(
            json_equal(&result, &expected),
            "{target} + {patch}: got {}",
            canonical_string(&result)
        );
    }
}

#[test]
fn rfc_7396_section_3_example() {
    let target = parse(
        r#"{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},
            "tags":["example","sample"],"content":"This will be unchanged"}"#,
    )
    .unwrap();
    let patch = parse(
        r#"{"title":"Hello!","phoneNumber":"+01-123-456-7890",
            "author":{"familyName":null},"tags":["example"]}"#,
    )
    .unwrap();
    let expected = parse(
        r#"{"title":"Hello!","author":{"givenName":"John"},"tags":["example"],
            "content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}"#,
    )
    .unwrap();
    assert!(json_equal(&merge_patch(&target, &patch), &expected));
}

#[test]
fn nested_merges_and_inputs_are_untouched() {
    let target = parse(r#"{"a":{"b":{"c":1,"d":2},"e":3},"f":[1],"g":4}"#).unwrap();
    let patch = parse(
        r#"{"a":{"b":{"c":null,"x":{"y":null,"z":1}},"e":{"k":null}},"f":{"n":null},"h":{}}"#,
    )
    .unwrap();
    let before = canonical_string(&target);
    let result = merge_patch(&target, &patch);
    assert_eq!(
        canonical_string(&result),
        r#"{"a":{"b":{"d":2,"x":{"z":1}},"e":{}},"f":{},"g":4,"h":{}}"#
    );
    assert_eq!(canonical_string(&target), before);
    // An empty patch changes nothing.
    assert!(json_equal(
        &merge_patch(&target, &parse("{}").unwrap()),
        &target
    ));
}
