//! Canonical form, checksums and the parser.

use chronicle_json::{canonical_string, checksum, json_equal, parse, JsonError, Value};

fn canon(text: &str) -> String {
    canonical_string(&parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}")))
}

#[test]
fn number_table() {
    let table = [
        ("1", "1"),
        ("1.0", "1"),
        ("1.00", "1"),
        ("1e0", "1"),
        ("10e-1", "1"),
        ("0.1e1", "1"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0e-999", "0"),
        ("0.0E+5", "0"),
        ("1.5e3", "1500"),
        ("0.000001", "0.000001"),
        ("1e-6", "0.000001"),
        ("1e-7", "1e-7"),
        ("0.0000001", "1e-7"),
        ("12e-8", "1.2e-7"),
        ("1e20", "100000000000000000000"),
        ("1e21", "1e+21"),
        ("1E+21", "1e+21"),
        ("100e19", "1e+21"),
        ("123e19", "1.23e+21"),
        ("123456789012345678901", "123456789012345678901"),
        ("1234567890123456789012", "1.234567890123456789012e+21"),
        (
            "123456789012345678901234567890",
            "1.2345678901234567890123456789e+29",
        ),
        ("9007199254740993", "9007199254740993"),
        ("0.1", "0.1"),
        ("0.10000000000000001", "0.10000000000000001"),
        (
            "3.14159265358979323846264338327950288",
            "3.14159265358979323846264338327950288",
        ),
        ("-1.5", "-1.5"),
        ("-1.50e2", "-150"),
        ("10.50", "10.5"),
        ("-0.000123", "-0.000123"),
        ("-123.456e-10", "-1.23456e-8"),
        ("5e-1", "0.5"),
        ("1e400", "1e+400"),
        ("-2.5E-400", "-2.5e-400"),
        ("100", "100"),
        ("4200", "4200"),
        ("1e100000000000000000000", "1e+100000000000000000000"),
    ];
    for (text, expected) in table {
        assert_eq!(canon(text), expected, "canonical form of {text}");
        // Numbers equal by value are json_equal, and canonical output is a
        // fixed point.
        assert!(
            json_equal(&parse(text).unwrap(), &parse(expected).unwrap()),
            "{text} == {expected}"
        );
        assert_eq!(canon(expected), expected, "{expected} is canonical");
    }
}

#[test]
fn numbers_compare_by_exact_value() {
    let v = |t: &str| parse(t).unwrap();
    assert!(json_equal(&v("[1, 1.0, 10e-1]"), &v("[1.000, 1e0, 0.1e1]")));
    assert!(!json_equal(&v("0.1"), &v("0.10000000000000001")));
    assert!(!json_equal(&v("9007199254740992"), &v("9007199254740993")));
    assert!(!json_equal(&v("1"), &v("-1")));
    assert!(!json_equal(&v("1"), &v("\"1\"")));
    assert!(json_equal(&v("-0"), &v("0.0")));
}

#[test]
fn keys_sorted_by_utf8_bytes() {
    // Byte order: "" < "A" < "B" < "a" < "aa" < "b" < "é" (C3 A9)
    // < "～" (EF BD 9E) < "😀" (F0 …). UTF-16 order would put "😀"
    // (a surrogate pair, D83D …) before "～" (FF5E).
    let text = r#"{"😀":1,"～":2,"é":3,"b":4,"aa":5,"a":6,"B":7,"A":8,"":9}"#;
    assert_eq!(
        canon(text),
        r#"{"":9,"A":8,"B":7,"a":6,"aa":5,"b":4,"é":3,"～":2,"😀":1}"#
    );
    // Precomposed and decomposed é are different keys (no Unicode normalization).
    assert_eq!(
        canon("{\"e\\u0301\":1,\"\\u00e9\":2}"),
        "{\"e\u{301}\":1,\"\u{e9}\":2}"
    );
}

#[test]
fn string_escaping() {
    assert_eq!(
        canon(r#""quote\" backslash\\ slash\/ \b\f\n\r\t \u0000\u0001\u001F\u007f""#),
        "\"quote\\\" backslash\\\\ slash/ \\b\\f\\n\\r\\t \\u0000\\u0001\\u001f\u{7f}\""
    );
    // Non-ASCII, U+2028/2029 and astral characters stay literal, however escaped.
    assert_eq!(
        canon(r#""\u00e9\u2028\u2029\ud83d\ude00""#),
        "\"é\u{2028}\u{2029}😀\""
    );
    assert_eq!(canon("\"é\u{2028}😀\""), "\"é\u{2028}😀\"");
    // Keys are escaped the same way.
    assert_eq!(canon(r#"{"a\nb\u0002":"\""}"#), r#"{"a\nb\u0002":"\""}"#);
}

#[test]
fn duplicate_keys_last_wins() {
    assert_eq!(canon(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
    assert_eq!(canon(r#"{"a":{"x":1},"a":[true]}"#), r#"{"a":[true]}"#);
    assert_eq!(canon(r#"{"\u0061":1,"a":2}"#), r#"{"a":2}"#);
}

#[test]
fn whitespace_and_formatting_do_not_matter() {
    let compact = r#"{"a":[1,2,{"b":null}],"c":"d"}"#;
    let spread = " \n\t{ \"c\" : \"\\u0064\" ,\r\n \"a\" : [ 1.0 , 2e0 , { \"b\" : null } ] }\n ";
    assert_eq!(canon(spread), compact);
    assert_eq!(
        checksum(&parse(spread).unwrap()),
        checksum(&parse(compact).unwrap())
    );

    let value = parse(compact).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert_eq!(canon(&pretty), compact);
}

#[test]
fn checksums_distinguish_different_documents() {
    let docs = [
        "{}",
        "[]",
        "null",
        "0",
        "\"\"",
        r#"{"a":1}"#,
        r#"{"a":"1"}"#,
        r#"{"a":1.01}"#,
        r#"{"a":[1]}"#,
        r#"{"b":1}"#,
        r#"{"a":1,"b":1}"#,
        "[1,2]",
        "[2,1]",
        r#"["a,b"]"#,
        r#"["a","b"]"#,
    ];
    let sums: Vec<String> = docs.iter().map(|d| checksum(&parse(d).unwrap())).collect();
    for (i, a) in sums.iter().enumerate() {
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        for (j, b) in sums.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "{} vs {}", docs[i], docs[j]);
        }
    }
}

/// Expected canonical texts written by hand; hashes computed independently
/// with `python3 -c 'import hashlib; print(hashlib.sha256(TEXT.encode()).hexdigest())'`.
#[test]
fn known_answer_checksums() {
    let cases = [
        (
            "{ }",
            "{}",
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        ),
        (
            r#"{"b": [true, null, "x"], "a": 1.0}"#,
            r#"{"a":1,"b":[true,null,"x"]}"#,
            "eca8cfb31ab74533e1eb2f4c74d2d55dfe3c79ac704787e54be8647ea7777eb1",
        ),
        (
            r#"{"é": 1.50, "z": [1e21, 1E-7, -0], "a\n": "\u2028\/"}"#,
            "{\"a\\n\":\"\u{2028}/\",\"z\":[1e+21,1e-7,0],\"é\":1.5}",
            "56f26d3b9654840f330b4ea12fcb1b863ddc3e13ae63d0f06d75a138b021c799",
        ),
        (
            r#"[15e2, 1e-6, -123456789012345678901234567890, "\u001F\t\"\\"]"#,
            r#"[1500,0.000001,-1.2345678901234567890123456789e+29,"\u001f\t\"\\"]"#,
            "130ccfdc1d756daec755889074b5494bbcbd01c015ca2d56a8d759f8c201c935",
        ),
        (
            "null",
            "null",
            "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",
        ),
    ];
    for (input, canonical, sum) in cases {
        let value = parse(input).unwrap();
        assert_eq!(canonical_string(&value), canonical);
        assert_eq!(checksum(&value), sum, "checksum of {canonical}");
    }
}

/// Vectors produced by the independent Python implementation in
/// tests/data/reference.py from randomly formatted documents.
#[test]
fn reference_vectors() {
    let vectors = parse(include_str!("data/canonical_vectors.json")).unwrap();
    let vectors = vectors.as_array().unwrap();
    assert_eq!(vectors.len(), 300);
    for vector in vectors {
        let input = vector["input"].as_str().unwrap();
        let value = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            canonical_string(&value),
            vector["canonical"].as_str().unwrap(),
            "input {input:?}"
        );
        assert_eq!(checksum(&value), vector["sha256"].as_str().unwrap());
    }
}

#[test]
fn canonical_ignores_member_order() {
    // The same members written in many orders, at two depths. Parsing keeps
    // the text's order under the `preserve_order` feature and sorts by key
    // otherwise; either way the output lists members by UTF-8 bytes, so
    // "～" (EF BD 9E) comes before "😀" (F0 …) as it would not in UTF-16.
    let keys = ["z", "é", "a", "", "B", "😀", "aa", "～"];
    let flat = r#"{"":3,"B":4,"a":2,"aa":6,"z":0,"é":1,"～":7,"😀":5}"#;
    let expected = format!(r#"[{flat},{{"x":{flat},"y":[{flat}]}}]"#);
    let mut orders = Vec::new();
    for rotation in 0..keys.len() {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.rotate_left(rotation);
        orders.push(order.clone());
        order.reverse();
        orders.push(order);
    }
    let object = |order: &[usize]| {
        let members: Vec<String> = order
            .iter()
            .map(|&i| format!("\"{}\": {i}", keys[i]))
            .collect();
        format!("{{{}}}", members.join(", "))
    };
    let mut texts = Vec::new();
    for outer in &orders {
        let inner = &orders[(outer[0] + 3) % orders.len()];
        texts.push(format!(
            r#"[{}, {{"y": [{}], "x": {}}}]"#,
            object(outer),
            object(inner),
            object(outer)
        ));
    }
    assert!(texts.iter().any(|text| text.starts_with(r#"[{"z""#)));
    for text in &texts {
        assert_eq!(canon(text), expected, "{text}");
        assert!(json_equal(
            &parse(text).unwrap(),
            &parse(&texts[0]).unwrap()
        ));
    }
}

#[test]
fn values_built_in_code_canonicalize_like_parsed_ones() {
    let built = serde_json::json!({"f": 1.5, "i": 1_000_000u64, "n": -3, "big": 1e21, "s": "x"});
    assert_eq!(
        canonical_string(&built),
        canon(r#"{"big":1e21,"f":1.50,"i":1e6,"n":-3,"s":"x"}"#)
    );
}

#[test]
fn parser_accepts_what_serde_json_accepts() {
    let samples = [
        r#"{"a":[1,-2.5e+3,true,false,null,"s\u00e9\n"],"b":{},"c":[]}"#,
        "  [ ]  ",
        "\"\\ud83d\\ude00\"",
        "-0.0e-0",
        "[[[[[[[]]]]]]]",
        r#"{"$serde_json::private::Number":"abc"}"#,
    ];
    for text in samples {
        let ours = parse(text).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap_or_else(|_| ours.clone());
        assert!(json_equal(&ours, &theirs), "{text}");
    }
    // serde_json turns this object into a number; it is an object.
    let quirk = parse(r#"{"$serde_json::private::Number":"1"}"#).unwrap();
    assert!(quirk.is_object());
    assert_eq!(
        canonical_string(&quirk),
        r#"{"$serde_json::private::Number":"1"}"#
    );
}

#[test]
fn parser_rejects_invalid_json_with_position() {
    let bad = [
        ("", 1, 1),
        ("   ", 1, 4),
        ("[1,]", 1, 4),
        ("{\"a\":1,}", 1, 8),
        ("{'a':1}", 1, 2),
        ("[1 2]", 1, 4),
        ("{\"a\" 1}", 1, 6),
        ("{\"a\":1", 1, 7),
        ("[01]", 1, 2),
        ("[1.]", 1, 2),
        ("[.5]", 1, 2),
        ("[+1]", 1, 2),
        ("NaN", 1, 1),
        ("[Infinity]", 1, 2),
        ("tru", 1, 1),
        ("nul", 1, 1),
        ("\"abc", 1, 5),
        ("\"a\u{1}b\"", 1, 3),
        ("\"\\x\"", 1, 3),
        ("\"\\u12\"", 1, 6),
        ("\"\\ud800\"", 1, 8),
        ("\"\\udc00\"", 1, 8),
        ("\"\\ud800\\u0041\"", 1, 14),
        ("{} {}", 1, 4),
        ("[1]\n\nx", 3, 1),
        ("{\n  \"é\": [1,\n    2,]\n}", 3, 7),
        ("\u{feff}{}", 1, 1),
    ];
    for (text, line, column) in bad {
        match parse(text) {
            Err(JsonError::Syntax {
                line: l, column: c, ..
            }) => {
                assert_eq!((l, c), (line, column), "position for {text:?}");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
    let message = parse("{\"a\" 1}").unwrap_err().to_string();
    assert_eq!(message, "invalid JSON at line 1, column 6: expected ':'");
}
