import Testing
@testable import CTICore

@Suite struct ArrayElementTests {
  @Test func arrayElementsCutAnArrayInPlace() throws {
    let object = try raw(#"{"objects": [ {"a":1} , [2,3],"x" ,null ], "empty":[], "n":1}"#)
    let ranges = try #require(object.arrayElements("objects"))
    #expect(ranges.map { String(decoding: object.source[$0], as: UTF8.self) } == [#"{"a":1}"#, "[2,3]", "\"x\"", "null"])
    #expect(object.arrayElements("empty") == [])
    #expect(object.arrayElements("n") == nil)
    #expect(object.arrayElements("missing") == nil)
  }
}
