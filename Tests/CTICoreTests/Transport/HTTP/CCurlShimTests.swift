import CCurl
import Testing

@Suite struct CCurlShimTests {
  @Test func authConstantsHaveLibcurlValues() {
    #expect(CTI_CURLAUTH_BASIC == 1)
    #expect(CTI_CURLAUTH_BEARER == 1 << 6)
    #expect(CTI_CURLAUTH_AWS_SIGV4 == 1 << 7)
    #expect(CTI_CURLAUTH_NONE == 0)
  }

  @Test func typedSetoptAndGetinfoWorkOnAnEasyHandle() throws {
    let handle = try #require(curl_easy_init())
    defer { curl_easy_cleanup(handle) }
    #expect(cti_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
    #expect(cti_curl_setopt_offset(handle, CURLOPT_MAXFILESIZE_LARGE, 1 << 20) == CURLE_OK)
    #expect(cti_curl_setopt_pointer(handle, CURLOPT_URL, "file:///dev/null") == CURLE_OK)
    #expect(cti_curl_setopt_long(handle, CURLOPT_HTTPAUTH, Int(CTI_CURLAUTH_BEARER)) == CURLE_OK)
    // An unknown option number is refused, so the wrappers really reach curl_easy_setopt.
    #expect(cti_curl_setopt_long(handle, CURLoption(rawValue: 9_999), 1) != CURLE_OK)
    #expect(curl_easy_perform(handle) == CURLE_OK)
    var url: UnsafeMutablePointer<CChar>?
    #expect(cti_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK)
    #expect(url.map { String(cString: $0) } == "file:///dev/null")
    var downloaded: curl_off_t = -1
    #expect(cti_curl_getinfo_offset(handle, CURLINFO_SIZE_DOWNLOAD_T, &downloaded) == CURLE_OK)
    #expect(downloaded == 0)
  }
}
