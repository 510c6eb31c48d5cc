// Light and dark themes. Without a stored choice the page follows the
// system (prefers-color-scheme, in CSS); a choice is stored in localStorage
// and set as <html data-theme>. static/src/boot-theme.js applies the stored
// choice before first paint.

export const THEME_KEY = 'virtportal.theme';

/** The stored choice: "light", "dark" or null (follow the system). */
export function storedTheme() {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

/** The theme in effect now: "light" or "dark". */
export function currentTheme() {
  const s = document.documentElement.dataset.theme;
  if (s === 'light' || s === 'dark') return s;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/**
 * Choose a theme and remember it.
 * @param {'light'|'dark'} theme
 */
export function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // Private mode without storage: the choice lasts for this page only.
  }
}

/** Switch between light and dark; returns the new theme. */
export function toggleTheme() {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  setTheme(next);
  return next;
}
