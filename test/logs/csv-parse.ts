// An RFC 4180 reader, strict enough to fail a test on a malformed export: quoted
// fields with doubled quotes, CRLF between records, nothing after a closing
// quote. An unquoted empty field reads as null, a quoted one as ''.
export function parseCsv (text: string): Array<Array<string | null>> {
  const records: Array<Array<string | null>> = []
  let record: Array<string | null> = []
  let at = 0
  while (at < text.length) {
    let field: string | null = ''
    if (text[at] === '"') {
      at++
      for (;;) {
        const quote = text.indexOf('"', at)
        if (quote === -1) throw new Error('unterminated quoted field')
        field += text.slice(at, quote)
        at = quote + 1
        if (text[at] !== '"') break
        field += '"'
        at++
      }
    } else {
      const end = text.slice(at).search(/[,\r\n"]/)
      const stop = end === -1 ? text.length : at + end
      if (text[stop] === '"') throw new Error(`a quote inside an unquoted field at ${stop}`)
      field = stop === at ? null : text.slice(at, stop)
      at = stop
    }
    record.push(field)
    if (text[at] === ',') {
      at++
    } else if (text.startsWith('\r\n', at) || at === text.length) {
      if (at === text.length) throw new Error('the last record does not end with CRLF')
      at += 2
      records.push(record)
      record = []
    } else {
      throw new Error(`unexpected ${JSON.stringify(text[at])} at ${at}`)
    }
  }
  return records
}
