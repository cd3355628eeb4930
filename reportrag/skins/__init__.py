"""The skins: CLI, HTTP API, Gradio web app and LangChain adapters, thin over the service."""
