/**
 * curl's arguments for `POST /files/upload` as the SDKs send it: the headers from a file (the
 * token stays off the command line), the metadata part, then the file part.
 */
export const curlUploadForm = (headersFile: string, metadataFile: string, src: string) => [
  '--header',
  `@${headersFile}`,
  '--form',
  `metadata=@${metadataFile};type=application/json;filename=metadata`,
  '--form',
  `file=@${src};type=application/octet-stream;filename=big.bin`,
]
