import Testing
@testable import CTICore

@Test func placeholder() { #expect(true) }
