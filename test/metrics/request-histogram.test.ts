import t from 'tap'
import { RequestHistogram } from '../../src/metrics/request-histogram.ts'
import { parseMetrics } from './scrape.ts'

void t.test('observations land in cumulative buckets, with +Inf, sum and count per series', async (t) => {
  const histogram = new RequestHistogram('h_seconds', 'Help text.', [0.01, 0.1, 1])
  for (const seconds of [0.005, 0.01, 0.05, 0.5, 3]) histogram.observe('POST', '/api/v1/logs', '2xx', seconds)
  histogram.observe('GET', '/api/v1/logs/:id', '4xx', 0.2)
  const text = histogram.text()
  t.match(text, /^# HELP h_seconds Help text\.\n# TYPE h_seconds histogram\n/)
  const value = (name: string, labels: string): number | undefined =>
    parseMetrics(text).find((sample) => sample.name === name && JSON.stringify(sample.labels) === labels)?.value
  const post = (le?: string): string => JSON.stringify({ method: 'POST', route: '/api/v1/logs', status_class: '2xx', ...(le === undefined ? {} : { le }) })
  t.same(['0.01', '0.1', '1', '+Inf'].map((le) => value('h_seconds_bucket', post(le))), [2, 3, 4, 5], 'a bound includes what equals it')
  t.equal(value('h_seconds_count', post()), 5)
  t.equal(value('h_seconds_sum', post()), 0.005 + 0.01 + 0.05 + 0.5 + 3)
  t.equal(value('h_seconds_count', JSON.stringify({ method: 'GET', route: '/api/v1/logs/:id', status_class: '4xx' })), 1, 'a series of its own')
})

void t.test('label values are escaped as the text format wants', async (t) => {
  const histogram = new RequestHistogram('h', 'h', [1])
  histogram.observe('GET', 'a"b\\c\nd', '2xx', 0.5)
  t.match(histogram.text(), /route="a\\"b\\\\c\\nd"/)
})
