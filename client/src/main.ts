import { mount } from 'svelte'
import App from './App.svelte'
import { Connection } from './state/connection.svelte.ts'
import { Workbench } from './state/workbench.svelte.ts'
import './app.css'

const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
const connection = new Connection(`${protocol}//${location.host}/ws`)
const workbench = new Workbench(connection)

mount(App, { target: document.getElementById('app')!, props: { workbench, connection } })
