// The log explorer's entry point: the app, its styles, uPlot's styles.
import { render } from 'preact'
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { App } from './components/App.tsx'

const root = document.getElementById('app')
if (root !== null) {
  root.textContent = ''
  render(<App />, root)
}
