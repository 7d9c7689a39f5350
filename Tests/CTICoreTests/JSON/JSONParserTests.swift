import Testing

@testable import CTICore

@Suite struct JSONParserTests {
  @Test func parsesEveryKindOfValueAndKeepsOrder() throws {
    let value = try JSONParser.parse(#"{"z":1,"a":[true,false,null],"m":{"k":"v"},"n":-0.50e+3}"#)
    let object = try #require(value.objectValue)
    #expect(object.keys == ["z", "a", "m", "n"])
    #expect(object["a"] == .array([.bool(true), .bool(false), .null]))
    #expect(object["n"] == .number("-0.50e+3"))
    #expect(value["m"]?["k"]?.stringValue == "v")
  }

  @Test func roundTripsBytesExactlyWhenCompact() throws {
    let text = #"{"b":[1,2.50,-3e10,"x\"y\\z\n"],"a":{"é":"ü€𝄞","e":""},"c":null}"#
    let value = try JSONParser.parse(text)
    #expect(value.jsonText == text)
  }

  @Test func decodesEscapesAndSurrogatePairs() throws {
    let value = try JSONParser.parse(#""\u00e9\ud834\udd1e\/\b\f\t\u2028""#)
    #expect(value.stringValue == "é𝄞/\u{08}\u{0C}\t\u{2028}")
    // A lone surrogate cannot live in a Swift string; it becomes U+FFFD instead of failing.
    #expect(try JSONParser.parse(#""a\ud800b""#).stringValue == "a\u{FFFD}b")
  }

  @Test(arguments: [
    ("{\"a\":1,}", "expected a string key", 7),
    ("[1,2", "unterminated array", 4),
    ("01", "leading zero in a number", 0),
    ("1.", "invalid number: no digit after '.'", 0),
    ("\"a\u{01}\"", "control character in a string", 2),
    ("\"\\x\"", "invalid escape '\\x'", 1),
    ("tru", "invalid literal (expected true)", 0),
    ("{} {}", "unexpected data after the JSON value", 3),
    ("{\"a\" 1}", "expected ':' after an object key", 5),
    ("", "unexpected end of input", 0),
    ("NaN", "unexpected character 'N'", 0),
  ])
  func rejectsInvalidTextWithPosition(text: String, message: String, offset: Int) {
    #expect(throws: JSONError(message, at: offset)) { try JSONParser.parse(text) }
  }

  @Test func rejectsInvalidUTF8() {
    #expect(throws: JSONError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    #expect(throws: JSONError.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }  // encoded surrogate
    #expect(throws: JSONError.self) { try JSONParser.validate([0x22, 0xC0, 0xAF, 0x22]) }  // overlong
    #expect((try? JSONParser.validate(Array("\"ok é\"".utf8))) != nil)
  }

  @Test func limitsNestingDepth() {
    let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
    #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
    #expect((try? JSONParser.parse(deep, limits: JSONLimits(maxDepth: 700))) != nil)
    #expect(throws: JSONError.self) { try JSONParser.validate(Array(deep.utf8)) }
  }

  @Test func limitsTextSize() throws {
    let text = Array(#"{"a":"0123456789"}"#.utf8)
    #expect(throws: JSONError.self) { try JSONParser.parse(text, limits: JSONLimits(maxBytes: 10)) }
    #expect(throws: JSONError.self) { try RawObject(text, limits: JSONLimits(maxBytes: 10)) }
    #expect(try RawObject(text, limits: JSONLimits(maxBytes: 18)).keys == ["a"])
  }

  @Test func rawObjectLocatesMembersWithoutBuildingThem() throws {
    let bytes = Array(#" {"event":"create","data":{"id":"x--1","n":[1,{"a":2}]},"s":"t\"q"} "#.utf8)
    let object = try RawObject(bytes)
    #expect(object.keys == ["event", "data", "s"])
    #expect(object.string("event") == "create")
    #expect(object.string("s") == "t\"q")
    #expect(String(decoding: try #require(object.rawValue("data")), as: UTF8.self) == #"{"id":"x--1","n":[1,{"a":2}]}"#)
    let data = try #require(object.object("data"))
    #expect(data.string("id") == "x--1")
    #expect(data.arrayElements("n")?.count == 2)
    #expect(object.string("data") == nil)
    #expect(object.object("missing") == nil)
  }

  @Test func rawObjectRejectsBrokenInput() {
    #expect(throws: JSONError.self) { try RawObject(Array(#"{"a":[1,}"#.utf8)) }
    #expect(throws: JSONError.self) { try RawObject(Array("[1]".utf8)) }
  }
}
