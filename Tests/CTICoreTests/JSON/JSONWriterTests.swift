import Testing

@testable import CTICore

@Suite struct JSONWriterTests {
  /// Expected strings are what Python 3.11 prints for
  /// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
  @Test func canonicalMatchesPythonSortKeys() throws {
    let value = try JSONParser.parse(#"{"b":1,"a":{"z":"é","A":"\u0001\u001f\""},"É":2,"_":[3,"\t\\"],"aa":null}"#)
    #expect(JSONWriter.canonical(value) == #"{"_":[3,"\t\\"],"a":{"A":"\u0001\u001f\"","z":"é"},"aa":null,"b":1,"É":2}"#)
  }

  /// Expected texts are Python 3.11's `json.dumps(json.loads(text), sort_keys=True, …)`.
  @Test(arguments: [
    ("1.50", "1.5"), ("1E2", "100.0"), ("1e-7", "1e-07"), ("-0.0", "-0.0"), ("12345678901234567890", "12345678901234567890"),
    ("1e16", "1e+16"), ("1e15", "1000000000000000.0"), ("0.1", "0.1"), ("1e400", "Infinity"), ("7", "7"),
  ])
  func canonicalNumbersAreWrittenAsPythonDoes(input: String, expected: String) throws {
    #expect(JSONWriter.canonical(try JSONParser.parse(input)) == expected)
    // The plain writer keeps the text as it came.
    #expect(try JSONParser.parse(input).jsonText == input)
  }

  @Test func sortsByCodePointNotByUnicodeCollation() {
    // U+FF21 (fullwidth A) sorts after U+00E9 by code point; U+1D11E after U+FFFF.
    let value: JSONValue = ["\u{1D11E}": 1, "\u{FF21}": 2, "é": 3, "Z": 4]
    #expect(JSONWriter.canonical(value) == "{\"Z\":4,\"é\":3,\"Ａ\":2,\"𝄞\":1}")
  }

  @Test func escapesOnlyWhatJSONRequires() {
    #expect(JSONValue.string("a/b\u{7F}\u{2028}<>&").jsonText == "\"a/b\u{7F}\u{2028}<>&\"")
    #expect(JSONValue.string("\r\n\u{08}\u{0C}").jsonText == #""\r\n\b\f""#)
  }

  @Test func compactsPrettyPrintedJSONKeepingStrings() {
    var writer = JSONWriter()
    writer.writeCompacted(Array("{\n    \"a b\": [ 1,\t2 ],\r\n  \"q\": \"x \\\" y\"\n}".utf8))
    #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a b":[1,2],"q":"x \" y"}"#)
  }

  @Test func objectEditingKeepsPositions() {
    var object = JSONObject()
    object["b"] = 1
    object["a"] = 2
    object["b"] = 3
    #expect(JSONValue.object(object).jsonText == #"{"b":3,"a":2}"#)
    object["b"] = nil
    #expect(JSONValue.object(object).jsonText == #"{"a":2}"#)
  }

  @Test func integersAndIntValues() {
    #expect(JSONValue.int(42).jsonText == "42")
    #expect(JSONValue.number("3").intValue == 3)
    #expect(JSONValue.string(" 7 ").intValue == 7)
    #expect(JSONValue.number("2.5").intValue == nil)
  }

  @Test func membersWrittenOneByOneMatchTheTree() {
    let tree: JSONValue = [
      "type": "indicator", "name": "quote \" and \\ and \u{1}", "score": 50, "detection": false,
      "labels": ["a", "b\n"], "refs": ["x": .null], "extra": "é",
    ]
    var writer = JSONWriter(capacity: 1)
    writer.beginObject("type")
    writer.writeString("indicator")
    writer.member("name", "quote \" and \\ and \u{1}")
    writer.member("score", 50)
    writer.member("detection", false)
    writer.member("labels", ["a", "b\n"])
    writer.member("refs", ["x": .null] as JSONValue)
    writer.member(named: "extra", .string("é"))
    writer.endObject()
    #expect(writer.bytes == JSONWriter.serialize(tree))
    #expect(writer.count == writer.bytes.count)
  }

  @Test func aCopiedWriterKeepsItsOwnText() {
    var first = JSONWriter(capacity: 16)
    first.writeString("shared")
    var second = first
    first.writeString("first")
    second.writeString("second")
    #expect(String(decoding: first.bytes, as: UTF8.self) == #""shared""first""#)
    #expect(String(decoding: second.bytes, as: UTF8.self) == #""shared""second""#)
    // Growing far past the first capacity keeps every byte.
    let long = String(repeating: "0123456789", count: 10_000)
    first.writeString(long)
    #expect(first.count == 15 + long.utf8.count + 2)
    #expect(first.withBytes { Array($0.suffix(11)) } == Array("0123456789\"".utf8))
  }
}

