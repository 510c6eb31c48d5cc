// Loaded as a classic script in <head> (dist/theme.js) so that a stored theme
// applies before the first paint; the app bundle is a deferred module.
try {
  const theme = localStorage.getItem('virtportal.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // No storage: follow the system.
}
