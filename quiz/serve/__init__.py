"""The class server (`quiz serve`): learners sign in and study in a browser, one app process each."""
