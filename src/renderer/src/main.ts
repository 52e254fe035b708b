import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { connect } from './api.ts'

mount(App, { target: document.getElementById('app')!, props: { api: connect() } })
