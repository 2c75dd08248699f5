// The `date-time` format of every schema: RFC 3339 with a time zone, checked
// exactly as ajv-formats checks it (a "T", "t" or white space between date
// and time, days per month and leap years, offsets to 23:59, a leap second
// only where it is 23:59 UTC), but without the arrays its check makes: a
// split and two regular-expression matches per value were a fifth of what a
// batch of log entries allocated.
const SHAPE = /^\d{4}-\d\d-\d\d[Tt\s]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d(?::?\d\d)?)$/
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function isLeapYear (year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

function digit (text: string, at: number): number {
  return text.charCodeAt(at) - 48
}

function twoDigits (text: string, at: number): number {
  return digit(text, at) * 10 + digit(text, at + 1)
}

export function isDateTime (text: string): boolean {
  if (!SHAPE.test(text)) return false
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2)
  const month = twoDigits(text, 5)
  const day = twoDigits(text, 8)
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && isLeapYear(year) ? 29 : DAYS[month]!)) return false
  const hour = twoDigits(text, 11)
  const minute = twoDigits(text, 14)
  const second = twoDigits(text, 17)
  // The zone: after the seconds and their fraction.
  let at = 19
  while (text.charCodeAt(at) === 46 /* . */ || (at > 19 && digit(text, at) >= 0 && digit(text, at) <= 9)) at++
  let zoneSign = 1
  let zoneHours = 0
  let zoneMinutes = 0
  if (text[at] !== 'Z' && text[at] !== 'z') {
    zoneSign = text[at] === '-' ? -1 : 1
    zoneHours = twoDigits(text, at + 1)
    at += 3
    if (text[at] === ':') at++
    if (at < text.length) zoneMinutes = twoDigits(text, at)
  }
  if (zoneHours > 23 || zoneMinutes > 59) return false
  if (hour <= 23 && minute <= 59 && second <= 59) return true
  // A leap second: 23:59:60 in UTC.
  const utcMinute = minute - zoneMinutes * zoneSign
  const utcHour = hour - zoneHours * zoneSign - (utcMinute < 0 ? 1 : 0)
  return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second <= 60
}
